package types

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/stretchr/testify/require"
)

// pgCase is one recorded PostgreSQL behaviour (see pggen_test.go).
type pgCase struct {
	typ, in, tz string
	out, bin    string // on success: text output and binary send (hex)
	code, msg   string // on error: SQLSTATE and message
}

// typeSpec maps a SQL type spelling used in tests ("numeric(5,2)",
// "int4[]", "timestamp(3)") to a T.
func typeSpec(t testing.TB, s string) T {
	t.Helper()
	if strings.HasSuffix(s, "[]") {
		return ArrayOf(typeSpec(t, strings.TrimSuffix(s, "[]")))
	}
	name, mod, hasMod := strings.Cut(s, "(")
	typ, ok := ByName(name)
	require.True(t, ok, "type %q", s)
	if hasMod {
		mod = strings.TrimSuffix(mod, ")")
		if p, sc, ok := strings.Cut(mod, ","); ok {
			pi, err := strconv.Atoi(p)
			require.NoError(t, err)
			si, err := strconv.Atoi(sc)
			require.NoError(t, err)
			return typ.WithMod(NumericMod(pi, si))
		}
		n, err := strconv.Atoi(mod)
		require.NoError(t, err)
		if typ.Family == FamNumeric {
			return typ.WithMod(NumericMod(n, 0))
		}
		return typ.WithMod(int32(n))
	}
	return typ
}

func ctxFor(t testing.TB, tz string) *Ctx {
	t.Helper()
	if tz == "" {
		return &Ctx{Now: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)}
	}
	loc, err := time.LoadLocation(tz)
	require.NoError(t, err)
	return &Ctx{Loc: loc, Now: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)}
}

func requireCode(t testing.TB, err error, code string, msgAndArgs ...any) {
	t.Helper()
	require.Error(t, err, msgAndArgs...)
	pe := pgerror.As(err)
	require.NotNil(t, pe, "error %v is not a *pgerror.Error", err)
	ctx := ""
	if len(msgAndArgs) > 0 {
		if f, ok := msgAndArgs[0].(string); ok {
			ctx = fmt.Sprintf(f, msgAndArgs[1:]...)
		}
	}
	require.Equal(t, code, pe.Code, "error %q %s", err.Error(), ctx)
}
