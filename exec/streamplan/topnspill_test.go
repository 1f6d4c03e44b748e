package streamplan

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec"
	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/stream"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// TestTopNSpillWiring: with States, DISTINCT ON (a group top-N) gets a
// table, spills into it (budget 1 byte) and gives the output of a plan
// without.
func TestTopNSpillWiring(t *testing.T) {
	scan := kvScan(1)
	k := &planner.ColRef{Idx: 0, T: types.Int8T}
	v := &planner.ColRef{Idx: 1, T: types.Int8T}
	plan := &planner.Distinct{On: []planner.Expr{k},
		Input: &planner.Sort{Input: scan, Keys: []planner.SortKey{{E: k}, {E: v, Desc: true, NullsFirst: true}}}}
	run := func(b *Builder) [][]string { return runPlan(t, b, plan) }
	env := &exec.Env{Eval: &kernels.EvalContext{Mem: memory.DefaultAllocator}}
	want := run(&Builder{Env: env, In: kvInputs{}})
	require.Len(t, want, 4)
	require.NotEmpty(t, want[3])
	var roles []string
	states := memStates(&roles)
	b := &Builder{Env: env, In: kvInputs{}, States: states, SpillBytes: 1}
	require.Equal(t, want, run(b))
	require.Equal(t, []string{"topn1"}, roles)
	require.Len(t, b.SpillingTopN, 1)
	st := b.SpillingTopN[0].SpillStats()
	require.True(t, st.Active)
	require.Positive(t, st.Spills)
	require.Positive(t, st.LoadedPartitions)
}

// runPlan builds n and returns its output changelog per epoch.
func runPlan(t *testing.T, b *Builder, n planner.Node) [][]string {
	res, err := b.Build(t.Context(), n)
	require.NoError(t, err)
	defer func() { require.NoError(t, res.Root.Close()) }()
	var epochs [][]string
	var cur []string
	for {
		m, err := res.Root.Next(t.Context())
		require.NoError(t, err)
		if m == nil {
			return epochs
		}
		switch m := m.(type) {
		case *stream.Chunk:
			for i := range m.Ops {
				row := m.Ops[i].String()
				for c := 0; c < int(m.Batch.NumCols()); c++ {
					row += " " + m.Batch.Column(c).ValueStr(i)
				}
				cur = append(cur, row)
			}
			m.Release()
		case stream.Barrier:
			epochs = append(epochs, cur)
			cur = nil
		}
	}
}

// TestWindowSpillWiring: with States, a window function over partitions
// (row_number() OVER (PARTITION BY k ORDER BY v)) gets a table, spills
// into it (budget 1 byte) and gives the output of a plan without.
func TestWindowSpillWiring(t *testing.T) {
	scan := kvScan(1)
	out := scan.Out
	k := &planner.ColRef{Idx: 0, T: types.Int8T}
	v := &planner.ColRef{Idx: 1, T: types.Int8T}
	plan := &planner.Window{Input: scan,
		Calls: []planner.WindowCall{{Name: "row_number", PartitionBy: []planner.Expr{k}, OrderBy: []planner.SortKey{{E: v, Desc: true, NullsFirst: true}}, T: types.Int8T}},
		Out:   append(append(planner.Schema{}, out...), planner.Column{Name: "rn", T: types.Int8T})}
	env := &exec.Env{Eval: &kernels.EvalContext{Mem: memory.DefaultAllocator}}
	want := runPlan(t, &Builder{Env: env, In: kvInputs{}}, plan)
	require.Len(t, want, 4)
	require.NotEmpty(t, want[3])
	var roles []string
	states := memStates(&roles)
	b := &Builder{Env: env, In: kvInputs{}, States: states, SpillBytes: 1}
	require.Equal(t, want, runPlan(t, b, plan))
	require.Equal(t, []string{"window1"}, roles)
	require.Len(t, b.SpillingWindows, 1)
	st := b.SpillingWindows[0].SpillStats()
	require.True(t, st.Active)
	require.Positive(t, st.Spills)
	require.Positive(t, st.LoadedPartitions)
}
