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
	// ObjectName, when set, names catalog objects for regclass and regtype
	// output (PostgreSQL prints 't', not its OID); ok=false prints the number.
	ObjectName func(t T, oid int64) (string, bool)
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

// The conversion API: FormatText/AppendText and ParseText (text.go and
// text_*.go), EncodeBinary/AppendBinary and DecodeBinary (binary.go), Cast
// and CastKind (cast.go), Compare and DatumEqual (compare.go), AppendKey
// and Hash64 (key.go).

// CastContext is the strongest context in which a cast is allowed.
type CastContext uint8

// Cast contexts, weakest to strongest requirement.
const (
	CastNone       CastContext = iota // no cast exists
	CastImplicit                      // allowed anywhere (e.g. int4 → int8)
	CastAssignment                    // allowed in INSERT/UPDATE targets (e.g. int8 → int4)
	CastExplicit                      // only with CAST/:: (e.g. text → int4)
)
