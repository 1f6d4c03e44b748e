// Package types defines SabotSQL's SQL data types, the Go representation of a
// single SQL value (a Datum), how each type is laid out in Apache Arrow, and
// the value semantics every layer shares: PostgreSQL 15's text and binary
// I/O (text.go, text_datetime.go, text_interval.go, text_array.go,
// binary.go), casts and the pg_cast contexts (cast.go), b-tree ordering
// (compare.go) and memcomparable keys and hashes (key.go).
//
// It is a leaf package: catalog, planner, exec, kernels and pgwire all speak
// in these types. Session state that conversions depend on (TimeZone, the
// statement time) travels in a *Ctx; nil means UTC and the wall clock.
//
// Datum representation (a Datum is an `any` holding exactly one of these):
//
//	NULL                  nil
//	boolean               bool
//	smallint/int/bigint   int64 (range-checked against the column type)
//	oid/regclass/regtype  int64 in [0, 2^32)
//	real/double           float64 (real is rounded to float32 precision)
//	numeric               *apd.Decimal (never mutated once built; no
//	                      negative zero; NaN and ±Infinity are apd forms)
//	text/varchar/char/    string (char(n) holds its padding; valid UTF-8
//	name                  without NUL bytes)
//	bytea                 []byte
//	date                  Date          (days since 1970-01-01)
//	time                  TimeOfDay     (microseconds since midnight)
//	timestamp             Timestamp     (microseconds since 1970-01-01, no zone)
//	timestamptz           TimestampTZ   (microseconds since 1970-01-01 UTC)
//	interval              Interval      (months, days, microseconds)
//	arrays                *Array        (one dimension, lower bound 1)
//	jsonb                 string        (canonical jsonb text: keys sorted
//	                      by length then bytes, last duplicate wins,
//	                      PostgreSQL's spacing; see jsonb.go)
//
// Type modifiers (T.Mod) are enforced by ParseText (as on assignment) and
// Cast: varchar(n)/char(n) lengths, numeric(p,s) rounding and overflow,
// time/timestamp precision, and interval field ranges and precision (Mod
// holds PostgreSQL's interval typmod; see IntervalTypmod).
//
// Dates and timestamps use the extreme values of their integer as
// 'infinity' and '-infinity' (DateInfinity, TimestampInfinity, ...). The
// supported range starts at 4714-11-24 BC like PostgreSQL's but timestamps
// end at 294246-12-31 (PostgreSQL: 294276), because they count from 1970.
//
// Arrow layout (see ArrowType): integers, floats and booleans use the Arrow
// type of the same width; numeric is stored as Utf8 holding the canonical
// decimal text (exact, arbitrary scale per value, as PostgreSQL); text types
// use Utf8; jsonb uses Utf8 of its canonical text; bytea uses Binary; date Date32; time Time64(µs); timestamp
// Timestamp(µs) without zone and timestamptz Timestamp(µs, "UTC"); interval
// MonthDayNano (nanoseconds = µs × 1000); arrays List of the element type.
//
// Key encoding (AppendKey), one value:
//
//	+--------+---------------------------------------------+
//	| 0x01   | type-specific order-preserving bytes        |  non-NULL
//	+--------+---------------------------------------------+
//	| 0x02   |                                                 NULL (last)
//	+--------+
//
// with the per-type layouts documented in key.go. Every encoding is
// self-delimiting, so a multi-column key is the concatenation of its
// columns' keys.
//
// Behaviour is pinned to PostgreSQL 15 by pg_expect_test.go, recorded from a
// real server by pggen_test.go (build tag pggen, PGGEN_DSN=...), which also
// holds differential tests that compare random values and inputs with a
// live server.
//
// Invariants:
//  1. Datums handed across package boundaries are never mutated.
//  2. Bool/integer/float Datums are always bool/int64/float64, whatever the
//     width of the SQL type: width only matters for range checks and Arrow.
//  3. FormatText's output parses back with ParseText to a value that
//     Compare reports equal (checked by FuzzParseText).
//  4. bytes.Compare(AppendKey(a), AppendKey(b)) == Compare(a, b) with NULLs
//     last; equal keys iff equal values; Hash64 is consistent with
//     DatumEqual (1.0 = 1.00, 'a' = 'a ' as char, -0 = 0, NaN = NaN).
//  5. Errors from value conversion are *pgerror.Error with PostgreSQL's
//     SQLSTATE; malformed binary input is 22P03 and never panics.
//  6. No package-level mutable state: lookup tables are built once at
//     init and only read; NumericContext returns a fresh context.
package types
