package streamplan

import (
	"context"
	"fmt"
	"sort"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec"
	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/stream"
	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
	"github.com/sabotsql/sabotsql/storage/state"
)

// msgSource replays messages.
type msgSource struct {
	schema *arrow.Schema
	msgs   []stream.Message
}

func (m *msgSource) Schema() *arrow.Schema { return m.schema }
func (m *msgSource) Close() error {
	for _, x := range m.msgs {
		stream.ReleaseMessage(x)
	}
	m.msgs = nil
	return nil
}
func (m *msgSource) Next(context.Context) (stream.Message, error) {
	if len(m.msgs) == 0 {
		return nil, nil
	}
	x := m.msgs[0]
	m.msgs = m.msgs[1:]
	return x, nil
}

// kvInputs serves tables 1 and 2 (k int8, v int8): per epoch e (1..4),
// keys 0..9 with v = 10*e + side, inserted, and the previous epoch's rows
// of even keys deleted.
type kvInputs struct{}

func kvSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{types.ArrowField("k", types.Int8T), types.ArrowField("v", types.Int8T)}, nil)
}

func (kvInputs) Relation(_ context.Context, id catalog.ObjectID) (stream.Executor, RelInfo, error) {
	src := &msgSource{schema: kvSchema()}
	for e := int64(1); e <= 4; e++ {
		kb, vb := array.NewInt64Builder(memory.DefaultAllocator), array.NewInt64Builder(memory.DefaultAllocator)
		var ops []stream.Op
		for k := int64(0); k < 10; k++ {
			if e > 1 && k%2 == 0 {
				kb.Append(k)
				vb.Append(10*(e-1) + int64(id))
				ops = append(ops, stream.Delete)
			}
			kb.Append(k)
			vb.Append(10*e + int64(id))
			ops = append(ops, stream.Insert)
		}
		ka, va := kb.NewArray(), vb.NewArray()
		src.msgs = append(src.msgs, &stream.Chunk{Batch: array.NewRecordBatch(src.schema, []arrow.Array{ka, va}, int64(len(ops))), Ops: ops},
			stream.Barrier{Epoch: uint64(e)})
		ka.Release()
		va.Release()
		kb.Release()
		vb.Release()
	}
	return src, RelInfo{WatermarkCol: -1}, nil
}

func (kvInputs) Ticks(context.Context) (stream.Executor, error) {
	return nil, fmt.Errorf("no ticks")
}

// TestJoinSpillWiring: with States, a keyed join gets a left and a right
// table, spills into them and gives the output of a join without; a cross
// join gets none.
func TestJoinSpillWiring(t *testing.T) {
	scan := kvScan
	out := kvScan(1).Out
	plan := func(keyed bool) *planner.Join {
		j := &planner.Join{Kind: planner.JoinFull, Left: scan(1), Right: scan(2), Out: append(append(planner.Schema{}, out...), out...)}
		if keyed {
			j.LeftKeys = []planner.Expr{&planner.ColRef{Idx: 0, T: types.Int8T}}
			j.RightKeys = []planner.Expr{&planner.ColRef{Idx: 0, T: types.Int8T}}
		}
		return j
	}
	run := func(b *Builder, n planner.Node) [][]string {
		epochs := runPlan(t, b, n)
		for _, e := range epochs {
			sort.Strings(e)
		}
		return epochs
	}
	env := &exec.Env{Eval: &kernels.EvalContext{Mem: memory.DefaultAllocator}}
	want := run(&Builder{Env: env, In: kvInputs{}}, plan(true))
	require.Len(t, want, 4)
	var roles []string
	states := memStates(&roles)
	b := &Builder{Env: env, In: kvInputs{}, States: states, SpillBytes: 1}
	require.Equal(t, want, run(b, plan(true)))
	require.Equal(t, []string{"join1_left", "join1_right"}, roles)
	require.Len(t, b.SpillingJoins, 1)
	st := b.SpillingJoins[0].SpillStats()
	require.True(t, st.Active)
	require.Positive(t, st.Spills)
	require.Positive(t, st.LoadedBuckets)

	roles = nil
	b = &Builder{Env: env, In: kvInputs{}, States: states, SpillBytes: 1}
	run(b, plan(false))
	require.Empty(t, roles, "a cross join does not spill")
	require.Empty(t, b.SpillingJoins)
}

// kvScan scans kvInputs' table id (k int8, v int8).
func kvScan(id catalog.ObjectID) *planner.Scan {
	cols := []catalog.Column{{Name: "k", T: types.Int8T}, {Name: "v", T: types.Int8T}}
	out := planner.Schema{{Name: "k", T: types.Int8T}, {Name: "v", T: types.Int8T}}
	return &planner.Scan{Table: &catalog.Table{ID: id, Name: fmt.Sprint("t", id), Columns: cols}, Cols: []int{0, 1}, Out: out}
}

// memStates is a Builder.States that opens in-memory tables and appends
// each role asked for to *roles.
func memStates(roles *[]string) func(context.Context, string, *arrow.Schema) (state.Table, error) {
	return func(_ context.Context, role string, vs *arrow.Schema) (state.Table, error) {
		*roles = append(*roles, role)
		return state.NewMemoryTable(vs, memory.DefaultAllocator)
	}
}
