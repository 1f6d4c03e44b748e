// Package types defines SabotSQL's SQL data types, the Go representation of a
// single SQL value (a Datum), and how each type is laid out in Apache Arrow.
//
// It is a leaf package: every layer (catalog, planner, exec, kernels, pgwire)
// speaks in these types. Text and binary I/O follow PostgreSQL's formats, and
// casts follow PostgreSQL's rules for the supported types.
//
// Datum representation (a Datum is an `any` holding exactly one of these):
//
//	NULL                  nil
//	boolean               bool
//	smallint/int/bigint   int64 (range-checked against the column type)
//	real/double           float64 (real is rounded to float32 precision)
//	numeric               *apd.Decimal (never mutated once built)
//	text/varchar/char     string
//	bytea                 []byte
//	date                  Date          (days since 1970-01-01)
//	time                  TimeOfDay     (microseconds since midnight)
//	timestamp             Timestamp     (microseconds since 1970-01-01, no zone)
//	timestamptz           TimestampTZ   (microseconds since 1970-01-01 UTC)
//	interval              Interval      (months, days, microseconds)
//	arrays                *Array
//
// Arrow layout (see ArrowType): integers, floats and booleans use the Arrow
// type of the same width; numeric is stored as Utf8 holding the canonical
// decimal text (exact, arbitrary scale per value, as PostgreSQL); text types
// use Utf8; bytea uses Binary; date Date32; time Time64(µs); timestamp
// Timestamp(µs) without zone and timestamptz Timestamp(µs, "UTC"); interval
// MonthDayNano (nanoseconds = µs × 1000); arrays List of the element type.
//
// Invariants:
//  1. Datums handed across package boundaries are never mutated.
//  2. Bool/integer/float Datums are always bool/int64/float64, whatever the
//     width of the SQL type: width only matters for range checks and Arrow.
package types
