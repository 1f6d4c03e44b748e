package stream

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/types"
)

// aggOutRow is one input row of TestHashAggregateOutputRandom: (k int8, s
// text, x float8, i int8), nil for NULL.
type aggOutRow struct {
	k *int64
	s *string
	x *float64
	i *int64
}

func outBatch(mem memory.Allocator, schema *arrow.Schema, rows []aggOutRow) arrow.RecordBatch {
	kb, sb := array.NewInt64Builder(mem), array.NewStringBuilder(mem)
	xb, ib := array.NewFloat64Builder(mem), array.NewInt64Builder(mem)
	for _, r := range rows {
		appendOpt(kb.Append, kb.AppendNull, r.k)
		appendOpt(sb.Append, sb.AppendNull, r.s)
		appendOpt(xb.Append, xb.AppendNull, r.x)
		appendOpt(ib.Append, ib.AppendNull, r.i)
	}
	cols := []arrow.Array{kb.NewArray(), sb.NewArray(), xb.NewArray(), ib.NewArray()}
	for _, b := range []array.Builder{kb, sb, xb, ib} {
		b.Release()
	}
	rb := array.NewRecordBatch(schema, cols, int64(len(rows)))
	for _, c := range cols {
		c.Release()
	}
	return rb
}

func appendOpt[T any](add func(T), null func(), v *T) {
	if v == nil {
		null()
	} else {
		add(*v)
	}
}

// TestHashAggregateOutputRandom streams random inserts, deletes and updates
// through a HashAggregate whose results take both old-output paths (cached
// fixed-width results: count, sum/avg/max of float8 with NaN, ±Inf and
// NULL; captured results: sum(int8) as numeric) and keys of each kind
// (int8 and text gathered from the group table, int8+text kept per
// epoch). It applies the changelog to a view model, requiring every
// retraction to name the row the view holds, every update to change it,
// and after every barrier the view to equal a fresh aggregate over the
// net input. STREAM_SEED=n reruns one seed.
func TestHashAggregateOutputRandom(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("STREAM_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err)
		seed = v
	}
	t.Logf("seed %d (rerun with STREAM_SEED=%d)", seed, seed)
	reg := testRegistry()
	schema := arrow.NewSchema([]arrow.Field{types.ArrowField("k", types.Int8T), types.ArrowField("s", types.TextT),
		types.ArrowField("x", types.Float8T), types.ArrowField("i", types.Int8T)}, nil)
	inTypes := []types.T{types.Int8T, types.TextT, types.Float8T, types.Int8T}
	var calls []AggCall
	for _, spec := range []struct {
		name string
		args []int
	}{{"count", nil}, {"sum", []int{2}}, {"avg", []int{2}}, {"max", []int{2}}, {"sum", []int{3}}, {"count", []int{3}}} {
		at := make([]types.T, len(spec.args))
		for i, c := range spec.args {
			at[i] = inTypes[c]
		}
		c, err := LookupAgg(reg, spec.name, spec.args, at)
		require.NoError(t, err)
		calls = append(calls, c)
	}
	for _, tc := range []struct {
		name      string
		groupCols []int
	}{{"int8", []int{0}}, {"text", []int{1}}, {"int8_text", []int{0, 1}}, {"global", nil}} {
		t.Run(tc.name, func(t *testing.T) {
			for iter := 0; iter < 8; iter++ {
				rng := rand.New(rand.NewPCG(seed, uint64(iter)*977+uint64(len(tc.name))))
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				runOutputRandom(t, rng, mem, schema, inTypes, tc.groupCols, calls, seed, iter)
				mem.AssertSize(t, 0)
			}
		})
	}
}

func runOutputRandom(t *testing.T, rng *rand.Rand, mem memory.Allocator, schema *arrow.Schema, inTypes []types.T,
	groupCols []int, calls []AggCall, seed uint64, iter int) {
	floats := []float64{1.5, -2.25, 1e300, math.NaN(), math.Inf(1), math.Inf(-1), 3}
	texts := []string{"a", "b", "", "long-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}
	nkeys := int64(1 + rng.IntN(6))
	newRow := func() aggOutRow {
		var r aggOutRow
		if rng.IntN(20) > 0 {
			k := rng.Int64N(nkeys)
			r.k = &k
		}
		if rng.IntN(20) > 0 {
			s := texts[rng.IntN(len(texts))]
			r.s = &s
		}
		if rng.IntN(6) > 0 {
			x := floats[rng.IntN(len(floats))]
			r.x = &x
		}
		if rng.IntN(6) > 0 {
			i := rng.Int64N(100) - 50
			r.i = &i
		}
		return r
	}
	var net []aggOutRow
	var msgs []Message
	epochs := 10 + rng.IntN(10)
	for e := 1; e <= epochs; e++ {
		for c := rng.IntN(4); c >= 0; c-- {
			var rows []aggOutRow
			var ops []Op
			for n := []int{1, 2, 5, 40}[rng.IntN(4)]; len(rows) < n; {
				switch r := rng.IntN(10); {
				case len(net) == 0 || r < 5:
					v := newRow()
					net = append(net, v)
					rows, ops = append(rows, v), append(ops, Insert)
				case r < 8:
					i := rng.IntN(len(net))
					rows, ops = append(rows, net[i]), append(ops, Delete)
					net[i] = net[len(net)-1]
					net = net[:len(net)-1]
				default:
					i := rng.IntN(len(net))
					v := newRow()
					rows, ops = append(rows, net[i], v), append(ops, UpdateDelete, UpdateInsert)
					net[i] = v
				}
			}
			msgs = append(msgs, &Chunk{Batch: outBatch(mem, schema, rows), Ops: ops})
		}
		msgs = append(msgs, Barrier{Epoch: uint64(e)})
	}
	// Expected views, per epoch: a fresh aggregate over the net rows then.
	want := expectedViews(t, mem, schema, inTypes, groupCols, calls, msgs)

	h, err := NewHashAggregate(&script{schema: schema, msgs: msgs}, inTypes, groupCols, calls, &kernels.EvalContext{Mem: mem})
	require.NoError(t, err)
	defer func() { require.NoError(t, h.Close()) }()
	outTypes := aggOutTypes(inTypes, groupCols, calls)
	nk := len(groupCols)
	view := map[string]string{} // key text → row text
	e := 0
	for {
		m, err := h.Next(context.Background())
		require.NoError(t, err)
		if m == nil {
			break
		}
		switch m := m.(type) {
		case *Chunk:
			lines := formatRows(m.Batch, outTypes)
			for i, line := range lines {
				key := strings.Join(strings.Split(line, " ")[:nk], " ")
				switch m.Ops[i] {
				case Delete, UpdateDelete:
					require.Equal(t, view[key], line, "seed %d iter %d epoch %d: retraction of a row the view does not hold", seed, iter, e+1)
					delete(view, key)
					if m.Ops[i] == UpdateDelete {
						require.NotEqual(t, line, lines[i+1], "seed %d iter %d epoch %d: update that changes nothing", seed, iter, e+1)
					}
				default:
					_, dup := view[key]
					require.False(t, dup, "seed %d iter %d epoch %d: insert of a key the view holds: %s", seed, iter, e+1, line)
					view[key] = line
				}
			}
			m.Release()
		case Barrier:
			require.Less(t, e, len(want))
			require.Equal(t, want[e], view, "seed %d iter %d epoch %d", seed, iter, e+1)
			e++
		}
	}
	require.Equal(t, len(want), e)
}

func aggOutTypes(inTypes []types.T, groupCols []int, calls []AggCall) []types.T {
	var ts []types.T
	for _, c := range groupCols {
		ts = append(ts, inTypes[c])
	}
	for _, c := range calls {
		ts = append(ts, c.Type)
	}
	return ts
}

// expectedViews returns, per barrier of msgs, the view a fresh aggregate
// computes from the net rows up to it (replayed as inserts only).
func expectedViews(t *testing.T, mem memory.Allocator, schema *arrow.Schema, inTypes []types.T, groupCols []int,
	calls []AggCall, msgs []Message) []map[string]string {
	var out []map[string]string
	var net []arrow.RecordBatch // single-row batches of the live rows
	defer func() {
		for _, b := range net {
			b.Release()
		}
	}()
	outTypes := aggOutTypes(inTypes, groupCols, calls)
	for _, m := range msgs {
		if c, ok := m.(*Chunk); ok {
			for i, op := range c.Ops {
				row := c.Batch.NewSlice(int64(i), int64(i+1))
				if op.Sign() > 0 {
					net = append(net, row)
					continue
				}
				// Remove one live row equal to it.
				line := formatRows(row, inTypes)[0]
				row.Release()
				found := false
				for j, b := range net {
					if formatRows(b, inTypes)[0] == line {
						b.Release()
						net = append(net[:j], net[j+1:]...)
						found = true
						break
					}
				}
				require.True(t, found, "test bug: delete of a row not inserted: %s", line)
			}
			continue
		}
		var fresh []Message
		for _, b := range net {
			b.Retain()
			fresh = append(fresh, &Chunk{Batch: b, Ops: []Op{Insert}})
		}
		fresh = append(fresh, Barrier{Epoch: 1})
		h, err := NewHashAggregate(&script{schema: schema, msgs: fresh}, inTypes, groupCols, calls, &kernels.EvalContext{Mem: mem})
		require.NoError(t, err)
		view := map[string]string{}
		for {
			m, err := h.Next(context.Background())
			require.NoError(t, err)
			if m == nil {
				break
			}
			if c, ok := m.(*Chunk); ok {
				for i, line := range formatRows(c.Batch, outTypes) {
					require.Equal(t, Insert, c.Ops[i])
					view[strings.Join(strings.Split(line, " ")[:len(groupCols)], " ")] = line
				}
				c.Release()
			}
		}
		require.NoError(t, h.Close())
		out = append(out, view)
	}
	return out
}
