package types

import "time"

// Ctx is the session state that value conversion depends on. A nil *Ctx
// means UTC and ISO DateStyle.
type Ctx struct {
	// Loc is the session TimeZone; nil means UTC.
	Loc *time.Location
	// Now is the statement timestamp that 'now', 'today', 'tomorrow' and
	// 'yesterday' refer to; the zero value means the wall clock at the time
	// of parsing.
	Now time.Time
}

// now returns the statement time of c.
func (c *Ctx) now() time.Time {
	if c == nil || c.Now.IsZero() {
		return time.Now()
	}
	return c.Now
}

// Location returns c's time zone, UTC when unset.
func (c *Ctx) Location() *time.Location {
	if c == nil || c.Loc == nil {
		return time.UTC
	}
	return c.Loc
}

// The conversion API below is filled in by text.go, binary.go, cast.go and
// compare.go. Signatures are the contract other packages rely on.

// FormatText renders d (of type t) in PostgreSQL's text output format, as
// psql would show it: booleans "t"/"f", floats in shortest round-trip form
// ("Infinity", "NaN"), numeric with its scale, dates/timestamps ISO style,
// intervals in postgres style ("1 day 02:00:00"), bytea as \x hex, arrays as
// {a,b}. d must not be nil.
//   func FormatText(c *Ctx, d Datum, t T) string

// ParseText parses s with t's PostgreSQL input function (e.g. ' 12 ' as
// integer, '2024-01-02 03:04:05+02' as timestamptz, '1 day' as interval),
// returning 22P02/22003/22007/22008 errors as PostgreSQL does. Varchar(n) and
// char(n) limits are applied (22001), numeric(p,s) rounds to s.
//   func ParseText(c *Ctx, s string, t T) (Datum, error)

// Cast converts d from type `from` to type `to` with PostgreSQL's semantics
// (explicit cast when explicit is true, assignment cast otherwise): int
// overflow 22003, float→int rounds half to even, numeric rounding, text
// parsing through ParseText, anything → text through FormatText,
// varchar(n) truncation on explicit cast and 22001 on assignment, bpchar
// padding, timestamp ↔ timestamptz through c's zone. nil stays nil.
//   func Cast(c *Ctx, d Datum, from, to T, explicit bool) (Datum, error)

// CastKind tells whether PostgreSQL allows a cast from → to implicitly,
// on assignment, or only explicitly (or not at all).
//   func CastKind(from, to T) CastContext

// Compare orders two non-nil Datums of the same type t (-1, 0, 1) as
// PostgreSQL's default b-tree operator class does (NaN greater than all
// floats, text compared bytewise as in the C collation, bpchar ignoring
// trailing spaces).
//   func Compare(a, b Datum, t T) int

// AppendKey appends a memcomparable encoding of d (nil allowed) of type t to
// buf: bytewise order of encodings equals Compare order with NULLs last, and
// equal encodings mean equal (in the sense of GROUP BY / DISTINCT) values.
//   func AppendKey(buf []byte, d Datum, t T) []byte

// EncodeBinary / DecodeBinary implement PostgreSQL's binary send/recv format
// of t, used by the wire protocol.
//   func EncodeBinary(c *Ctx, d Datum, t T) ([]byte, error)
//   func DecodeBinary(c *Ctx, b []byte, t T) (Datum, error)

// CastContext is the strongest context in which a cast is allowed.
type CastContext uint8

// Cast contexts, weakest to strongest requirement.
const (
	CastNone       CastContext = iota // no cast exists
	CastImplicit                      // allowed anywhere (e.g. int4 → int8)
	CastAssignment                    // allowed in INSERT/UPDATE targets (e.g. int8 → int4)
	CastExplicit                      // only with CAST/:: (e.g. text → int4)
)
