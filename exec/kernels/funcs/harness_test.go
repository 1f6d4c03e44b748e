package funcs

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// testSession is a fixed SessionInfo for tests.
type testSession struct{ settings map[string]string }

func (s testSession) CurrentUser() string     { return "alice" }
func (s testSession) CurrentDatabase() string { return "db1" }
func (s testSession) Setting(name string) (string, bool) {
	v, ok := s.settings[strings.ToLower(name)]
	return v, ok
}

var testRegistry = func() *kernels.Registry {
	r := kernels.NewRegistry()
	Register(r)
	return r
}()

// testTxnTime is 2024-01-02 03:04:05.123456 UTC.
var testTxnTime = types.TimestampTZ(time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC).UnixMicro())

func newCtx(zone string) *kernels.EvalContext {
	ctx := &kernels.EvalContext{
		StmtTime: testTxnTime + 1000,
		TxnTime:  testTxnTime,
		Session:  testSession{settings: map[string]string{"timezone": "UTC", "datestyle": "ISO, MDY"}},
	}
	if zone != "" {
		l, err := time.LoadLocation(zone)
		if err != nil {
			panic(err)
		}
		ctx.Loc = l
	}
	return ctx
}

// parseTypeName resolves "int4", "text[]", … .
func parseTypeName(t *testing.T, name string) types.T {
	t.Helper()
	if strings.HasSuffix(name, "[]") {
		return types.ArrayOf(parseTypeName(t, strings.TrimSuffix(name, "[]")))
	}
	typ, ok := types.ByName(name)
	require.True(t, ok, "unknown type %q", name)
	return typ
}

// parseArg parses "type:value" ("null:type" for a typed NULL).
func parseArg(t *testing.T, ctx *kernels.EvalContext, s string) (types.T, types.Datum) {
	t.Helper()
	typ, val, ok := strings.Cut(s, ":")
	require.True(t, ok, "bad arg %q", s)
	if typ == "null" {
		return parseTypeName(t, val), nil
	}
	tt := parseTypeName(t, typ)
	d, err := types.ParseText(&ctx.Ctx, val, tt)
	require.NoError(t, err, "parse %q", s)
	return tt, d
}

// resolve picks the overload of name whose declared argument families
// match argTypes (FamAny and FamAnyArray match anything of their kind).
func resolve(name string, argTypes []types.T) *kernels.ScalarFunc {
	for _, f := range testRegistry.Scalars(name) {
		if matches(f, argTypes) {
			return f
		}
	}
	return nil
}

func matches(f *kernels.ScalarFunc, argTypes []types.T) bool {
	if !f.Variadic && len(f.Args) != len(argTypes) {
		return false
	}
	if f.Variadic && len(argTypes) < len(f.Args)-1 {
		return false
	}
	for i, at := range argTypes {
		var decl types.T
		if i < len(f.Args) {
			decl = f.Args[i]
		} else {
			decl = f.Args[len(f.Args)-1]
		}
		switch decl.Family {
		case types.FamAny:
			continue
		case types.FamAnyArray:
			if at.Family != types.FamArray {
				return false
			}
			continue
		}
		if decl.Family != at.Family {
			return false
		}
	}
	return true
}

// call evaluates name(args...) row-wise and renders the result as
// PostgreSQL's text output ("NULL" for NULL, "ERR:<sqlstate>" on error).
func call(t *testing.T, ctx *kernels.EvalContext, name string, args []string) string {
	t.Helper()
	argTypes := make([]types.T, len(args))
	datums := make([]types.Datum, len(args))
	for i, a := range args {
		argTypes[i], datums[i] = parseArg(t, ctx, a)
	}
	f := resolve(name, argTypes)
	require.NotNil(t, f, "no overload %s%v", name, argTypes)
	if f.Strict {
		for _, d := range datums {
			if d == nil {
				return "NULL"
			}
		}
	}
	res, err := f.Eval(ctx, datums)
	if err != nil {
		require.NotNil(t, pgerror.As(err), "error without SQLSTATE: %v", err)
		return "ERR:" + pgerror.CodeOf(err)
	}
	if res == nil {
		return "NULL"
	}
	if b, ok := res.(bool); ok { // as bool::text renders it
		return fmt.Sprint(b)
	}
	return types.FormatText(&ctx.Ctx, res, f.ResultType(argTypes))
}

type fnCase struct {
	name string
	args []string
	want string
}

func (c fnCase) String() string { return fmt.Sprintf("%s(%s)", c.name, strings.Join(c.args, ", ")) }

func runCases(t *testing.T, zone string, cases []fnCase) {
	t.Helper()
	ctx := newCtx(zone)
	for _, c := range cases {
		t.Run(c.String(), func(t *testing.T) {
			got := call(t, ctx, c.name, c.args)
			require.Equal(t, c.want, got, "%s", c)
		})
	}
}

func volName(v kernels.Volatility) string {
	switch v {
	case kernels.Immutable:
		return "Immutable"
	case kernels.Stable:
		return "Stable"
	}
	return "Volatile"
}
