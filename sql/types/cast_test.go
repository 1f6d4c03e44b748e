package types

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// pgCastCase is one recorded PostgreSQL cast (see pggen_test.go).
type pgCastCase struct {
	from, to, in, tz string
	explicit         bool
	out              string
	code, msg        string
}

func TestCastAgainstPostgres(t *testing.T) {
	for i, c := range pgCastExpect {
		name := fmt.Sprintf("%d/%s->%s/%q/explicit=%v", i, c.from, c.to, c.in, c.explicit)
		t.Run(name, func(t *testing.T) {
			from, to := typeSpec(t, c.from), typeSpec(t, c.to)
			ctx := ctxFor(t, c.tz)
			kind := CastKind(from, to)
			if c.code == "42804" || c.code == "42846" {
				// PostgreSQL has no such cast in this context.
				if c.explicit {
					require.Equal(t, CastNone, kind)
				} else {
					require.Contains(t, []CastContext{CastExplicit, CastNone}, kind)
				}
				return
			}
			require.NotEqual(t, CastNone, kind)
			if !c.explicit {
				require.NotEqual(t, CastExplicit, kind, "PostgreSQL allows this on assignment")
			}
			src, err := ParseText(ctx, c.in, from)
			require.NoError(t, err)
			got, err := Cast(ctx, src, from, to, c.explicit)
			if c.code != "" {
				requireCode(t, err, c.code)
				require.Equal(t, c.msg, err.Error())
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.out, FormatText(ctx, got, to))
		})
	}
}
