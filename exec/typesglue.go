package exec

import (
	"github.com/sabotsql/sabotsql/sql/types"
)

// The executor's only entry points into sql/types' value semantics.

// castDatum converts d with PostgreSQL's cast rules (nil stays nil).
func castDatum(c *types.Ctx, d types.Datum, from, to types.T, explicit bool) (types.Datum, error) {
	return types.Cast(c, d, from, to, explicit)
}

// compareDatum orders two non-nil datums of type t.
func compareDatum(a, b types.Datum, t types.T) int { return types.Compare(a, b, t) }

// appendKey appends a key for d (nil allowed): equal keys mean equal values
// for GROUP BY / DISTINCT / IN.
func appendKey(buf []byte, d types.Datum, t types.T) []byte { return types.AppendKey(buf, d, t) }
