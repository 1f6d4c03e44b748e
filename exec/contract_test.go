package exec

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Every operator honours the Operator contract: Close is allowed before
// Init, after a partial read, and twice; batches are never empty.
func TestOperatorContract(t *testing.T) {
	f := newFixture(t, 4)
	scan := f.table("t", intCols("a", "b"), genRows(seeded(t), 50, 2, 5, 20))
	def := planner.Frame{Mode: planner.FrameRange, Start: planner.FrameBound{Kind: planner.UnboundedPreceding}, End: planner.FrameBound{Kind: planner.CurrentRow}}
	plans := map[string]planner.Node{
		"scan":      scan,
		"values":    &planner.Values{Rows: [][]planner.Expr{{ival(1)}, {ival(2)}}, Out: schemaOf(icol("v"))},
		"filter":    &planner.Filter{Input: scan, Cond: call(fnLt, ci(0), ival(3))},
		"project":   project(scan, call(fnAdd, ci(0), ci(1))),
		"aggregate": &planner.Aggregate{Input: scan, GroupBy: []planner.Expr{ci(0)}, Aggs: []planner.AggCall{{Fn: aggSum, Args: []planner.Expr{ci(1)}, T: types.Int8T}}, Out: schemaOf(icol("a"), icol("s"))},
		"hashjoin": &planner.Join{Kind: planner.JoinFull, Left: scan, Right: scan, LeftKeys: []planner.Expr{ci(0)}, RightKeys: []planner.Expr{ci(1)},
			Out: schemaOf(icol("a"), icol("b"), icol("c"), icol("d"))},
		"nestedloop": &planner.Join{Kind: planner.JoinLeft, Left: scan, Right: scan, Cond: call(fnLt, ci(0), ci(3)), Out: schemaOf(icol("a"), icol("b"), icol("c"), icol("d"))},
		"sort":       &planner.Sort{Input: scan, Keys: []planner.SortKey{{E: ci(1)}}},
		"topn":       &planner.Limit{Input: &planner.Sort{Input: scan, Keys: []planner.SortKey{{E: ci(1)}}}, Count: 7, Offset: 2},
		"limit":      &planner.Limit{Input: scan, Count: 7, Offset: 2},
		"distinct":   &planner.Distinct{Input: scan},
		"setop":      &planner.SetOp{Kind: planner.SetExcept, All: true, Left: scan, Right: scan, Out: scan.Out},
		"window":     &planner.Window{Input: scan, Calls: []planner.WindowCall{{Name: "rank", OrderBy: []planner.SortKey{{E: ci(0)}}, Frame: def, T: types.Int8T}}, Out: schemaOf(icol("a"), icol("b"), icol("r"))},
		"tablefunc":  series(10),
	}
	for name, p := range plans {
		t.Run(name, func(t *testing.T) {
			op, err := Build(f.env, p)
			require.NoError(t, err)
			require.NoError(t, op.Close(), "close before init")

			op, err = Build(f.env, p)
			require.NoError(t, err)
			require.NoError(t, op.Init(context.Background()))
			b, err := op.Next()
			require.NoError(t, err)
			if b != nil {
				require.Positive(t, b.NumRows())
				require.Equal(t, len(p.Schema()), int(b.NumCols()))
			}
			require.NoError(t, op.Close())
			require.NoError(t, op.Close(), "second close")
			require.Zero(t, f.env.Mem.Used())

			rows, err := f.run(p)
			require.NoError(t, err)
			_ = rows
		})
	}
}
