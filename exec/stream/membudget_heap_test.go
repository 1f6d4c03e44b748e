package stream

import (
	"context"
	"runtime"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/types"
)

// genSource emits chunks made on demand (rows(c) nil: an empty slot), a
// barrier after every barrierEvery slots and after the last, then ends;
// it keeps no reference to what it emitted.
type genSource struct {
	schema       *arrow.Schema
	chunks       int
	barrierEvery int
	rows         func(c int) *Chunk
	c, epoch     int
	due          bool
}

func (g *genSource) Schema() *arrow.Schema { return g.schema }
func (g *genSource) Close() error          { return nil }
func (g *genSource) Next(context.Context) (Message, error) {
	for {
		if g.due {
			g.due = false
			g.epoch++
			return Barrier{Epoch: uint64(g.epoch)}, nil
		}
		if g.c >= g.chunks {
			return nil, nil
		}
		c := g.c
		g.c++
		g.due = g.c%g.barrierEvery == 0 || g.c == g.chunks
		if ch := g.rows(c); ch != nil {
			return ch, nil
		}
	}
}

// TestHashJoinMemEstimate checks that the join's charged estimate is
// within a sane factor (0.5×–3×) of the heap its state really holds: 1M
// rows go into one side of a join (the other stays empty), and the heap's
// growth after a GC is compared with the bytes reserved. It is a memory
// sanity check, not a timing one.
func TestHashJoinMemEstimate(t *testing.T) {
	if testing.Short() {
		t.Skip("1M rows")
	}
	const rows, per = 1 << 20, 1024
	for _, tc := range []struct {
		name string
		key  types.T // the key column's type (k); v is int8, name text
	}{{"int key", types.Int8T}, {"text key", types.TextT}} {
		t.Run(tc.name, func(t *testing.T) {
			ts := []types.T{tc.key, types.Int8T, types.TextT}
			fs := []arrow.Field{types.ArrowField("k", ts[0]), types.ArrowField("v", ts[1]), types.ArrowField("name", ts[2])}
			schema := arrow.NewSchema(fs, nil)
			mk := func(c int) *Chunk {
				kb := array.NewBuilder(memory.DefaultAllocator, types.ArrowType(tc.key))
				vb := array.NewInt64Builder(memory.DefaultAllocator)
				nb := array.NewStringBuilder(memory.DefaultAllocator)
				defer kb.Release()
				defer vb.Release()
				defer nb.Release()
				for i := c * per; i < (c+1)*per; i++ {
					if tc.key.Family == types.FamText {
						kb.(*array.StringBuilder).Append("key-" + strconv.Itoa(i))
					} else {
						kb.(*array.Int64Builder).Append(int64(i))
					}
					vb.Append(int64(i) * 3)
					nb.Append("name-" + strconv.Itoa(i%1000))
				}
				cols := []arrow.Array{kb.NewArray(), vb.NewArray(), nb.NewArray()}
				rb := array.NewRecordBatch(schema, cols, per)
				for _, a := range cols {
					a.Release()
				}
				return &Chunk{Batch: rb, Ops: make([]Op, per)}
			}
			left := &genSource{schema: schema, chunks: rows / per, barrierEvery: 64, rows: mk}
			right := &genSource{schema: schema, chunks: rows / per, barrierEvery: 64, rows: func(int) *Chunk { return nil }}

			checkStateEstimate(t, tc.name, rows, func(b MemBudget) sizedExecutor {
				j, err := NewHashJoin(left, right, ts, ts, []int{0}, []int{0}, InnerJoin)
				require.NoError(t, err)
				return j.WithMemBudget(b)
			})
		})
	}
}

// TestBoxedStateMemEstimate is TestHashJoinMemEstimate for the executors
// that keep rows boxed (trees and maps of Datums): 256K fresh rows (k, ts,
// v, name) with 4096 keys, the reserved bytes within 0.5×–3× of the heap's
// growth.
func TestBoxedStateMemEstimate(t *testing.T) {
	if testing.Short() {
		t.Skip("256K rows")
	}
	const rows, per = 1 << 18, 1024
	ts := []types.T{types.Int8T, types.Int8T, types.Int8T, types.TextT}
	fs := []arrow.Field{types.ArrowField("k", ts[0]), types.ArrowField("ts", ts[1]), types.ArrowField("v", ts[2]), types.ArrowField("name", ts[3])}
	schema := arrow.NewSchema(fs, nil)
	mk := func(first int) func(c int) *Chunk {
		return func(c int) *Chunk {
			b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
			defer b.Release()
			for i := first + c*per; i < first+(c+1)*per; i++ {
				b.Field(0).(*array.Int64Builder).Append(int64(i % 4096))
				b.Field(1).(*array.Int64Builder).Append(int64(i) * 10)
				b.Field(2).(*array.Int64Builder).Append(int64(i) * 7919 % 100003)
				b.Field(3).(*array.StringBuilder).Append("name-" + strconv.Itoa(i))
			}
			return &Chunk{Batch: b.NewRecordBatch(), Ops: make([]Op, per)}
		}
	}
	src := func(first int) Executor {
		return &genSource{schema: schema, chunks: rows / per, barrierEvery: 64, rows: mk(first)}
	}
	empty := func() Executor {
		return &genSource{schema: schema, chunks: rows / per, barrierEvery: 64, rows: func(int) *Chunk { return nil }}
	}
	outSchema := arrow.NewSchema(append(append([]arrow.Field{}, fs...), types.ArrowField("s", types.Int8T)), nil)
	for _, tc := range []struct {
		name  string
		build func(b MemBudget) sizedExecutor
	}{
		{"TopN", func(b MemBudget) sizedExecutor {
			x, err := NewTopN(src(0), ts, []SortCol{{Col: 2}}, 10, 0, false)
			require.NoError(t, err)
			return x.WithMemBudget(b)
		}},
		{"GroupTopN", func(b MemBudget) sizedExecutor {
			x, err := NewGroupTopN(src(0), ts, []int{0}, []SortCol{{Col: 2}}, "rank", 3, false)
			require.NoError(t, err)
			return x.WithMemBudget(b)
		}},
		{"OverWindow", func(b MemBudget) sizedExecutor {
			x, err := NewOverWindow(src(0), ts, outSchema, []int{0}, []SortCol{{Col: 1}}, rollingSum3)
			require.NoError(t, err)
			return x.WithLookback(2).WithMemBudget(b)
		}},
		{"SetOp", func(b MemBudget) sizedExecutor {
			x, err := NewSetOp(src(0), src(rows/2), ts, "intersect", false)
			require.NoError(t, err)
			return x.WithMemBudget(b)
		}},
		{"AsOfJoin", func(b MemBudget) sizedExecutor {
			x, err := NewAsOfJoin(src(0), empty(), ts, ts, []int{0}, []int{0}, 1, 1, ">=", 4, false)
			require.NoError(t, err)
			return x.WithMemBudget(b)
		}},
		{"DynamicFilter", func(b MemBudget) sizedExecutor {
			rs, _ := int8Schema("x")
			r := &genSource{schema: rs, chunks: rows / per, barrierEvery: 64, rows: func(int) *Chunk { return nil }}
			x, err := NewDynamicFilter(src(0), r, ts, 2, "<", types.Int8T)
			require.NoError(t, err)
			return x.WithMemBudget(b)
		}},
		{"Session", func(b MemBudget) sizedExecutor {
			x, err := NewSession(src(0), ts, 1, ivMicros(5))
			require.NoError(t, err)
			return x.WithMemBudget(b)
		}},
		{"EOWC", func(b MemBudget) sizedExecutor {
			x, err := NewEOWC(src(0), ts, nil, 1)
			require.NoError(t, err)
			return x.WithMemBudget(b)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkStateEstimate(t, tc.name, rows, tc.build)
		})
	}
}

// sizedExecutor is an executor that reports its state estimate.
type sizedExecutor interface {
	Executor
	StateBytes() int64
}

// checkStateEstimate drains the executor build returns (charging a counting
// budget) and requires its reserved bytes to equal StateBytes, to lie within
// 0.5×–3× of the heap's growth, and to return to zero on Close.
func checkStateEstimate(t *testing.T, name string, rows int, build func(b MemBudget) sizedExecutor) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b := &countingBudget{t: t}
	x := build(b)
	ctx := context.Background()
	for {
		m, err := x.Next(ctx)
		require.NoError(t, err)
		if m == nil {
			break
		}
		ReleaseMessage(m)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	growth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	reserved := b.used
	require.Equal(t, x.StateBytes(), reserved)
	runtime.KeepAlive(x)
	ratio := float64(reserved) / float64(growth)
	t.Logf("%s: reserved %d bytes, heap grew %d bytes (%.2f×), %.1f bytes/row reserved", name, reserved, growth, ratio, float64(reserved)/float64(rows))
	require.GreaterOrEqual(t, ratio, 0.5, "estimate %d is under half of the heap growth %d", reserved, growth)
	require.LessOrEqual(t, ratio, 3.0, "estimate %d is over 3× the heap growth %d", reserved, growth)
	require.NoError(t, x.Close())
	require.Zero(t, b.used)
}
