package ops

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// pgCase is one expression checked against PostgreSQL 15: fn applied to
// args (text literals of the given types, space separated) in session zone
// tz gives want (text output, "NULL") or fails with SQLSTATE code and
// message want.
type pgCase struct {
	tz, fn, types string
	args          []string
	want, code    string
}

func newRegistry() *kernels.Registry {
	r := kernels.NewRegistry()
	Register(r)
	return r
}

func parseType(t *testing.T, s string) types.T {
	if strings.HasSuffix(s, "[]") {
		et, ok := types.ByName(strings.TrimSuffix(s, "[]"))
		require.True(t, ok, s)
		return types.ArrayOf(et)
	}
	typ, ok := types.ByName(s)
	require.True(t, ok, s)
	return typ
}

// lookup finds the overload of name for the argument types: an exact
// family match first, then one through FamAny/FamAnyArray.
func lookup(r *kernels.Registry, name string, ts []types.T) *kernels.ScalarFunc {
	var poly *kernels.ScalarFunc
	for _, f := range r.Scalars(name) {
		if len(f.Args) != len(ts) {
			continue
		}
		exact, ok := true, true
		for i, a := range f.Args {
			switch {
			case a.Family == ts[i].Family:
			case a.Family == types.FamAny && ts[i].Family != types.FamArray:
				exact = false
			case a.Family == types.FamAnyArray && ts[i].Family == types.FamArray:
				exact = false
			default:
				ok = false
			}
		}
		if ok && exact {
			return f
		}
		if ok && poly == nil {
			poly = f
		}
	}
	return poly
}

// render prints a result as PostgreSQL's ::text would.
func render(ctx *kernels.EvalContext, d types.Datum, t types.T) string {
	if d == nil {
		return "NULL"
	}
	if b, ok := d.(bool); ok {
		return fmt.Sprint(b)
	}
	return types.FormatText(&ctx.Ctx, d, t)
}

func evalCtx(t *testing.T, tz string, mem memory.Allocator) *kernels.EvalContext {
	loc, err := time.LoadLocation(tz)
	require.NoError(t, err)
	return &kernels.EvalContext{Ctx: types.Ctx{Loc: loc}, Mem: mem}
}

// toArray builds an Arrow array of type t from Datums (nil = NULL).
func toArray(mem memory.Allocator, t types.T, ds []types.Datum) arrow.Array {
	b := array.NewBuilder(mem, types.ArrowType(t))
	defer b.Release()
	for _, d := range ds {
		types.AppendDatum(b, d, t)
	}
	return b.NewArray()
}

// libmFuncs are computed by the C library in PostgreSQL and by Go's math
// package here; the two may differ in the last bit.
var libmFuncs = map[string]bool{"cbrt": true, "tan": true, "cot": true, "acos": true, "asin": true,
	"atan": true, "atan2": true, "sin": true, "cos": true, "sinh": true, "cosh": true, "tanh": true,
	"exp": true, "ln": true, "log": true, "log10": true, "power": true, "pow": true, "u||/": true, "^": true}

func requireResult(t *testing.T, c pgCase, got string) {
	t.Helper()
	if libmFuncs[c.fn] && strings.HasPrefix(c.types, "float8") {
		w, err1 := strconv.ParseFloat(c.want, 64)
		g, err2 := strconv.ParseFloat(got, 64)
		if err1 == nil && err2 == nil && w != 0 && !math.IsInf(w, 0) {
			require.InEpsilon(t, w, g, 1e-15, "want %s got %s", c.want, got)
			return
		}
	}
	require.Equal(t, c.want, got)
}

func TestAgainstPostgres(t *testing.T) {
	r := newRegistry()
	for _, c := range pgCases {
		t.Run(fmt.Sprintf("%s(%s)%q", c.fn, c.types, c.args), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ctx := evalCtx(t, c.tz, mem)
			var ts []types.T
			for _, s := range strings.Fields(c.types) {
				ts = append(ts, parseType(t, s))
			}
			f := lookup(r, c.fn, ts)
			require.NotNil(t, f, "no overload %s(%v)", c.fn, ts)
			args := make([]types.Datum, len(c.args))
			for i, s := range c.args {
				d, err := types.ParseText(&ctx.Ctx, s, ts[i])
				require.NoError(t, err, "parse %q as %v", s, ts[i])
				args[i] = d
			}
			got, err := f.Eval(ctx, args)
			if c.code != "" {
				require.Error(t, err)
				require.Equal(t, c.code, pgerror.CodeOf(err), err.Error())
				require.Equal(t, c.want, err.Error())
			} else {
				require.NoError(t, err)
				requireResult(t, c, render(ctx, got, f.ResultType(ts)))
			}
			if f.Vec == nil {
				return
			}
			// The vector kernel agrees, with a NULL row in between.
			arrs := make([]arrow.Array, len(args))
			for i := range args {
				arrs[i] = toArray(mem, ts[i], []types.Datum{args[i], nil, args[i]})
				defer arrs[i].Release()
			}
			out, verr := f.Vec(ctx, arrs, 3)
			if c.code != "" {
				require.Error(t, verr)
				require.Equal(t, c.code, pgerror.CodeOf(verr))
				return
			}
			require.NoError(t, verr)
			defer out.Release()
			rt := f.ResultType(ts)
			require.Equal(t, 3, out.Len())
			require.True(t, out.IsNull(1))
			requireResult(t, c, render(ctx, types.GetDatum(out, 0, rt), rt))
			requireResult(t, c, render(ctx, types.GetDatum(out, 2, rt), rt))
		})
	}
}
