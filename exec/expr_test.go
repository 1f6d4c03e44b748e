package exec

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// evalRows evaluates e over columns given row-wise (all of types ts).
func evalRows(t *testing.T, env *Env, e planner.Expr, ts []types.T, rows []row) ([]types.Datum, error) {
	t.Helper()
	var sch planner.Schema
	for i, ty := range ts {
		sch = append(sch, planner.Column{Name: string(rune('a' + i)), T: ty})
	}
	as := arrowSchema(sch)
	b := array.NewRecordBuilder(memory.DefaultAllocator, as)
	defer b.Release()
	for _, r := range rows {
		for i, d := range r {
			types.AppendDatum(b.Field(i), d, ts[i])
		}
	}
	rb := b.NewRecordBatch()
	defer rb.Release()
	if len(ts) == 0 {
		rb = array.NewRecordBatch(as, nil, int64(len(rows)))
	}
	ev, err := Compile(env, e, sch)
	if err != nil {
		return nil, err
	}
	out, err := ev.Eval(context.Background(), rb)
	if err != nil {
		return nil, err
	}
	defer out.Release()
	require.Equal(t, len(rows), out.Len())
	res := make([]types.Datum, out.Len())
	for i := range res {
		res[i] = types.GetDatum(out, i, e.Type())
	}
	return res, nil
}

var tri3 = []types.Datum{true, false, nil}

func TestThreeValuedLogic(t *testing.T) {
	env := &Env{}
	var rows []row
	for _, a := range tri3 {
		for _, b := range tri3 {
			rows = append(rows, row{a, b})
		}
	}
	ts := []types.T{types.BoolT, types.BoolT}
	and, err := evalRows(t, env, &planner.And{Args: []planner.Expr{cb(0), cb(1)}}, ts, rows)
	require.NoError(t, err)
	or, err := evalRows(t, env, &planner.Or{Args: []planner.Expr{cb(0), cb(1)}}, ts, rows)
	require.NoError(t, err)
	// rows: TT TF TN FT FF FN NT NF NN
	require.Equal(t, []types.Datum{true, false, nil, false, false, false, nil, false, nil}, and)
	require.Equal(t, []types.Datum{true, true, true, true, false, nil, true, nil, nil}, or)

	not, err := evalRows(t, env, &planner.Not{E: cb(0)}, ts, rows[:9:9])
	require.NoError(t, err)
	require.Equal(t, []types.Datum{false, false, false, true, true, true, nil, nil, nil}, not)

	one := []row{{true, nil}, {false, nil}, {nil, nil}}
	for _, tc := range []struct {
		test   planner.BoolTest
		negate bool
		want   []types.Datum
	}{
		{planner.TestTrue, false, []types.Datum{true, false, false}},
		{planner.TestTrue, true, []types.Datum{false, true, true}},
		{planner.TestFalse, false, []types.Datum{false, true, false}},
		{planner.TestFalse, true, []types.Datum{true, false, true}},
		{planner.TestUnknown, false, []types.Datum{false, false, true}},
		{planner.TestUnknown, true, []types.Datum{true, true, false}},
	} {
		got, err := evalRows(t, env, &planner.IsBool{E: cb(0), Test: tc.test, Negate: tc.negate}, ts, one)
		require.NoError(t, err)
		require.Equal(t, tc.want, got, "IS %v negate=%v", tc.test, tc.negate)
	}
	isnull, err := evalRows(t, env, &planner.IsNull{E: cb(0)}, ts, one)
	require.NoError(t, err)
	require.Equal(t, []types.Datum{false, false, true}, isnull)
	notnull, err := evalRows(t, env, &planner.IsNull{E: cb(0), Negate: true}, ts, one)
	require.NoError(t, err)
	require.Equal(t, []types.Datum{true, true, false}, notnull)

	// n-ary: TRUE AND NULL AND FALSE = FALSE; FALSE OR NULL OR FALSE = NULL
	got, err := evalRows(t, env, &planner.And{Args: []planner.Expr{bval(true), bval(nil), bval(false)}}, nil, []row{{}})
	require.NoError(t, err)
	require.Equal(t, []types.Datum{false}, got)
	got, err = evalRows(t, env, &planner.Or{Args: []planner.Expr{bval(false), bval(nil), bval(false)}}, nil, []row{{}})
	require.NoError(t, err)
	require.Equal(t, []types.Datum{nil}, got)
}

func TestIsDistinctFrom(t *testing.T) {
	env := &Env{}
	rows := []row{{int64(1), int64(1)}, {int64(1), int64(2)}, {int64(1), nil}, {nil, int64(1)}, {nil, nil}}
	ts := []types.T{types.Int8T, types.Int8T}
	d, err := evalRows(t, env, &planner.IsDistinct{L: ci(0), R: ci(1), Eq: fnEq}, ts, rows)
	require.NoError(t, err)
	require.Equal(t, []types.Datum{false, true, true, true, false}, d)
	nd, err := evalRows(t, env, &planner.IsDistinct{L: ci(0), R: ci(1), Eq: fnEq, Negate: true}, ts, rows)
	require.NoError(t, err)
	require.Equal(t, []types.Datum{true, false, false, false, true}, nd)
}

func TestLazyEvaluationAvoidsGuardedErrors(t *testing.T) {
	env := &Env{}
	ts := []types.T{types.Int8T, types.Int8T}
	rows := []row{{int64(10), int64(2)}, {int64(5), int64(0)}, {int64(9), nil}, {nil, int64(0)}, {int64(8), int64(4)}}
	div := call(fnDiv, ci(0), ci(1))
	bNotZero := call(fnNe, ci(1), ival(0))

	// Unguarded division fails.
	_, err := evalRows(t, env, div, ts, rows)
	require.Error(t, err)
	require.Equal(t, pgerror.DivisionByZero, pgerror.CodeOf(err))

	// CASE WHEN b <> 0 THEN a / b END
	got, err := evalRows(t, env, &planner.Case{Whens: []planner.When{{Cond: bNotZero, Result: div}}, T: types.Int8T}, ts, rows)
	require.NoError(t, err)
	require.Equal(t, []types.Datum{int64(5), nil, nil, nil, int64(2)}, got)

	// CASE WHEN b = 0 THEN -1 ELSE a / b END
	got, err = evalRows(t, env, &planner.Case{Whens: []planner.When{{Cond: call(fnEq, ci(1), ival(0)), Result: ival(-1)}}, Else: div, T: types.Int8T}, ts, rows)
	require.NoError(t, err)
	require.Equal(t, []types.Datum{int64(5), int64(-1), nil, int64(-1), int64(2)}, got)

	// b <> 0 AND a / b > 1
	got, err = evalRows(t, env, &planner.And{Args: []planner.Expr{bNotZero, call(fnGt, div, ival(1))}}, ts, rows)
	require.NoError(t, err)
	require.Equal(t, []types.Datum{true, false, nil, false, true}, got)

	// b = 0 OR a / b > 2
	got, err = evalRows(t, env, &planner.Or{Args: []planner.Expr{call(fnEq, ci(1), ival(0)), call(fnGt, div, ival(2))}}, ts, rows)
	require.NoError(t, err)
	require.Equal(t, []types.Datum{true, true, nil, true, false}, got)

	// COALESCE(NULLIF-like guard): COALESCE(CASE WHEN b = 0 THEN 0 END, a / b)
	guard := &planner.Case{Whens: []planner.When{{Cond: call(fnEq, ci(1), ival(0)), Result: ival(0)}}, T: types.Int8T}
	got, err = evalRows(t, env, &planner.Coalesce{Args: []planner.Expr{guard, div}, T: types.Int8T}, ts, rows)
	require.NoError(t, err)
	require.Equal(t, []types.Datum{int64(5), int64(0), nil, int64(0), int64(2)}, got)

	// A NULL guard still evaluates the right side (PostgreSQL does too):
	// NULL AND a/b > 1 with b = 0 raises.
	_, err = evalRows(t, env, &planner.And{Args: []planner.Expr{bval(nil), call(fnGt, div, ival(1))}}, ts, rows[1:2])
	require.Equal(t, pgerror.DivisionByZero, pgerror.CodeOf(err))
}

func TestCoalesceMinMaxInList(t *testing.T) {
	env := &Env{}
	ts := []types.T{types.Int8T, types.Int8T, types.Int8T}
	rows := []row{{nil, int64(2), int64(3)}, {int64(1), nil, int64(3)}, {nil, nil, nil}, {int64(7), int64(9), nil}}
	got, err := evalRows(t, env, &planner.Coalesce{Args: []planner.Expr{ci(0), ci(1), ci(2)}, T: types.Int8T}, ts, rows)
	require.NoError(t, err)
	require.Equal(t, []types.Datum{int64(2), int64(1), nil, int64(7)}, got)

	got, err = evalRows(t, env, &planner.MinMax{Args: []planner.Expr{ci(0), ci(1), ci(2)}, Greatest: true, T: types.Int8T}, ts, rows)
	require.NoError(t, err)
	require.Equal(t, []types.Datum{int64(3), int64(3), nil, int64(9)}, got)
	got, err = evalRows(t, env, &planner.MinMax{Args: []planner.Expr{ci(0), ci(1), ci(2)}, T: types.Int8T}, ts, rows)
	require.NoError(t, err)
	require.Equal(t, []types.Datum{int64(2), int64(1), nil, int64(7)}, got)

	// x IN (1, NULL, 3) / x NOT IN (1, NULL, 3)
	in := []row{{int64(1), nil, nil}, {int64(2), nil, nil}, {nil, nil, nil}, {int64(3), nil, nil}}
	list := []planner.Expr{ival(1), inull(), ival(3)}
	got, err = evalRows(t, env, &planner.InList{E: ci(0), List: list, Eq: fnEq}, ts, in)
	require.NoError(t, err)
	require.Equal(t, []types.Datum{true, nil, nil, true}, got)
	got, err = evalRows(t, env, &planner.InList{E: ci(0), List: list, Eq: fnEq, Negate: true}, ts, in)
	require.NoError(t, err)
	require.Equal(t, []types.Datum{false, nil, nil, false}, got)
	// without NULLs in the list: plain false
	got, err = evalRows(t, env, &planner.InList{E: ci(0), List: []planner.Expr{ival(1), ival(3)}, Eq: fnEq}, ts, in)
	require.NoError(t, err)
	require.Equal(t, []types.Datum{true, false, nil, true}, got)
}

func TestCallsCastsParams(t *testing.T) {
	env := &Env{Params: []types.Datum{int64(100), nil}}
	ts := []types.T{types.Int8T, types.Int4T}
	rows := []row{{int64(1), int64(2)}, {nil, int64(3)}, {int64(5), nil}}
	// vectorized + with a widened int4 and a parameter
	e := call(fnAdd, call(fnAdd, ci(0), &planner.Cast{E: col(1, types.Int4T), To: types.Int8T}), &planner.Param{Idx: 0, T: types.Int8T})
	got, err := evalRows(t, env, e, ts, rows)
	require.NoError(t, err)
	require.Equal(t, []types.Datum{int64(103), nil, nil}, got)
	// strict row-wise function with a NULL parameter
	got, err = evalRows(t, env, call(fnMul, ci(0), &planner.Param{Idx: 1, T: types.Int8T}), ts, rows)
	require.NoError(t, err)
	require.Equal(t, []types.Datum{nil, nil, nil}, got)
	// missing parameter
	_, err = evalRows(t, env, &planner.Param{Idx: 5, T: types.Int8T}, ts, rows)
	require.Equal(t, pgerror.UndefinedParameter, pgerror.CodeOf(err))
	// narrowing cast out of range
	big := []row{{int64(1) << 40, int64(0)}}
	_, err = evalRows(t, env, &planner.Cast{E: ci(0), To: types.Int4T}, ts, big)
	require.Equal(t, pgerror.NumericValueOutOfRange, pgerror.CodeOf(err))
	// constant arrays are sliced to the batch length
	got, err = evalRows(t, env, ival(7), ts, rows)
	require.NoError(t, err)
	require.Equal(t, []types.Datum{int64(7), int64(7), int64(7)}, got)
}

var _ arrow.Array

func TestArrayExpressions(t *testing.T) {
	env := &Env{}
	ts := []types.T{types.Int8T, types.Int8T}
	rows := []row{{int64(1), int64(2)}, {nil, int64(3)}, {int64(5), nil}}
	arrT := types.ArrayOf(types.Int8T)
	ctor := &planner.ArrayCtor{Elems: []planner.Expr{ci(0), ci(1), ival(9)}, T: arrT}
	got, err := evalRows(t, env, ctor, ts, rows)
	require.NoError(t, err)
	require.Equal(t, "&{bigint [1 2 9]}", fmtRow(row{got[0]}))
	require.Equal(t, "&{bigint [<nil> 3 9]}", fmtRow(row{got[1]}))

	// ARRAY[a, b, 9][i] for i = 1, b (2, 3, NULL), 0: out of range and NULL index give NULL.
	sub := func(i planner.Expr) []types.Datum {
		got, err := evalRows(t, env, &planner.ArraySubscript{Array: ctor, Index: i, T: types.Int8T}, ts, rows)
		require.NoError(t, err)
		return got
	}
	require.Equal(t, []types.Datum{int64(1), nil, int64(5)}, sub(ival(1)))
	require.Equal(t, []types.Datum{int64(2), int64(9), nil}, sub(ci(1)))
	require.Equal(t, []types.Datum{nil, nil, nil}, sub(ival(0)))

	// x = ANY(ARRAY[1, NULL]) / x <> ALL(...) three-valued, with an empty and a NULL array.
	withNull := &planner.ArrayCtor{Elems: []planner.Expr{ival(1), inull()}, T: arrT}
	empty := &planner.ArrayCtor{T: arrT}
	nullArr := &planner.Const{T: arrT}
	cmp := func(kind planner.SubqueryKind, op *kernels.ScalarFunc, arr planner.Expr) []types.Datum {
		got, err := evalRows(t, env, &planner.ArrayCompare{Kind: kind, Left: ci(0), Array: arr, Op: op}, ts, rows)
		require.NoError(t, err)
		return got
	}
	require.Equal(t, []types.Datum{true, nil, nil}, cmp(planner.SubAny, fnEq, withNull))
	require.Equal(t, []types.Datum{false, nil, nil}, cmp(planner.SubAll, fnNe, withNull))
	require.Equal(t, []types.Datum{false, false, false}, cmp(planner.SubAny, fnEq, empty))
	require.Equal(t, []types.Datum{true, true, true}, cmp(planner.SubAll, fnNe, empty))
	require.Equal(t, []types.Datum{nil, nil, nil}, cmp(planner.SubAny, fnEq, nullArr))
	require.Equal(t, []types.Datum{true, nil, false}, cmp(planner.SubAll, fnLt, &planner.ArrayCtor{Elems: []planner.Expr{ival(3), ival(4)}, T: arrT}))
}
