package stream

import (
	"context"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/types"
)

// rollingSum3 is sum(v) OVER (PARTITION BY p ORDER BY ts ROWS BETWEEN 2
// PRECEDING AND CURRENT ROW) over rows (p, ts, v) that arrive grouped by
// partition, each partition sorted.
func rollingSum3(_ context.Context, b arrow.RecordBatch) ([]arrow.Array, error) {
	p, v := b.Column(0).(*array.Int64), b.Column(2).(*array.Int64)
	bld := array.NewInt64Builder(memory.DefaultAllocator)
	defer bld.Release()
	start := 0
	for i := 0; i < v.Len(); i++ {
		if i > 0 && p.Value(i) != p.Value(i-1) {
			start = i
		}
		var s int64
		for j := max(start, i-2); j <= i; j++ {
			s += v.Value(j)
		}
		bld.Append(s)
	}
	return []arrow.Array{bld.NewArray()}, nil
}

// TestOverWindowLookback runs the same mostly-appending random stream
// through an OverWindow with the append fast path and one without: after
// every barrier both views are equal (the full recomputation is the
// reference), including out-of-order inserts and deletes.
func TestOverWindowLookback(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		schema, ts := int8Schema("p", "ts", "v")
		outSchema := arrow.NewSchema(append(append([]arrow.Field{}, schema.Fields()...), types.ArrowField("s", types.Int8T)), nil)
		logs := [2]*Changelog{NewChangelog(schema), NewChangelog(schema)}
		var views [2][]string
		var exs [2]Executor
		for k := range exs {
			sub, err := logs[k].Subscribe(0)
			require.NoError(t, err)
			ow, err := NewOverWindow(NewSource(sub), ts, outSchema, []int{0}, []SortCol{{Col: 1}}, rollingSum3)
			require.NoError(t, err)
			if k == 0 {
				ow = ow.WithLookback(2)
			}
			exs[k] = ow
		}
		live := map[int64][]int64{} // partition → ts values present
		next := map[int64]int64{}
		ctx := context.Background()
		for epoch := uint64(1); epoch <= 30; epoch++ {
			var rows []row
			for n := rng.IntN(6); n >= 0; n-- {
				p := int64(rng.IntN(3))
				switch r := rng.IntN(10); {
				case r < 7:
					next[p] += int64(1 + rng.IntN(2))
					tsv, v := next[p], int64(rng.IntN(100))
					rows = append(rows, row{op: Insert, vals: []*int64{&p, &tsv, &v}})
					live[p] = append(live[p], tsv)
				case r < 9 && len(live[p]) > 0:
					// out of order: before the partition's last row
					tsv, v := int64(-rng.IntN(50)), int64(rng.IntN(100))
					rows = append(rows, row{op: Insert, vals: []*int64{&p, &tsv, &v}})
				default:
					_ = r
				}
			}
			for k := range logs {
				if len(rows) > 0 {
					c := makeChunk(t, schema, rows)
					require.NoError(t, logs[k].Append(c))
					c.Release()
				}
				require.NoError(t, logs[k].AppendBarrier(Barrier{Epoch: epoch}))
				for {
					m, err := exs[k].Next(ctx)
					require.NoError(t, err)
					if b, ok := m.(Barrier); ok {
						require.Equal(t, epoch, b.Epoch)
						break
					}
					if c, ok := m.(*Chunk); ok {
						lines := formatRows(c.Batch, append(ts, types.Int8T))
						for i, op := range c.Ops {
							if op.Sign() > 0 {
								views[k] = append(views[k], lines[i])
							} else {
								for j, l := range views[k] {
									if l == lines[i] {
										views[k] = append(views[k][:j], views[k][j+1:]...)
										break
									}
								}
							}
						}
						c.Release()
					}
				}
			}
			a, b := append([]string(nil), views[0]...), append([]string(nil), views[1]...)
			sort.Strings(a)
			sort.Strings(b)
			require.Equal(t, b, a, "seed %d epoch %d", seed, epoch)
		}
		for k := range exs {
			require.NoError(t, exs[k].Close())
		}
	}
}
