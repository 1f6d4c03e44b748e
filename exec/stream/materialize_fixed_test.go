package stream

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/types"
	"github.com/sabotsql/sabotsql/storage/state"
)

// genericOnly hides a table's typed path (state.FixedTable).
type genericOnly struct{ state.Table }

// TestMaterializeFixedMatchesGeneric feeds the same random keyed
// changelog — inserts, deletes, update pairs of the same key and of
// changing keys, chunks with NULL keys or values, negative and special
// float keys — to a view over a memory table (typed writes) and to one
// over the same kind of table with the typed path hidden, and checks both
// views read the same rows after every epoch, for key types of each
// width and order-preserving transform.
func TestMaterializeFixedMatchesGeneric(t *testing.T) {
	keyTypes := []types.T{types.Int8T, types.Int4T, types.Int2T, types.Float8T, types.Float4T, types.DateT, types.TimestampT}
	for ki, kt := range keyTypes {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("key=%s/seed=%d", kt, seed), func(t *testing.T) {
				runFixedView(t, []types.T{kt, types.Float8T, types.Int4T, types.Int2T}, seed+uint64(ki)*10)
			})
			// A key and one value (applyFixed's two-column loop).
			t.Run(fmt.Sprintf("key=%s/seed=%d/one-value", kt, seed), func(t *testing.T) {
				runFixedView(t, []types.T{kt, types.Float8T}, seed+uint64(ki)*10)
			})
		}
	}
}

func runFixedView(t *testing.T, colTypes []types.T, seed uint64) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 5))
	fs := make([]arrow.Field, len(colTypes))
	for i, ct := range colTypes {
		fs[i] = types.ArrowField(fmt.Sprint("c", i), ct)
	}
	schema := arrow.NewSchema(fs, nil)
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	space := []int{5, 50, 3000}[seed%3]
	var msgs []Message
	const epochs = 12
	for e := 1; e <= epochs; e++ {
		for range 1 + rng.IntN(3) {
			msgs = append(msgs, randFixedChunk(mem, rng, schema, space))
		}
		msgs = append(msgs, Barrier{Epoch: uint64(e)})
	}
	open := func() *state.MemoryTable {
		tbl, err := state.NewMemoryTable(MaterializeValueSchema(schema, []int{0}), memory.DefaultAllocator)
		require.NoError(t, err)
		return tbl
	}
	// Each view gets its own references to the chunks.
	msgs2 := make([]Message, len(msgs))
	for i, m := range msgs {
		if c, ok := m.(*Chunk); ok {
			c.Batch.Retain()
			msgs2[i] = &Chunk{Batch: c.Batch, Ops: c.Ops}
		} else {
			msgs2[i] = m
		}
	}
	typed, err := NewMaterialize(&msgSource{schema: schema, msgs: msgs}, colTypes, []int{0}, open(), nil)
	require.NoError(t, err)
	defer typed.Close()
	require.NotNil(t, typed.fixed, "a memory table with fixed-width columns offers the typed path")
	generic, err := NewMaterialize(&msgSource{schema: schema, msgs: msgs2}, colTypes, []int{0}, genericOnly{open()}, nil)
	require.NoError(t, err)
	defer generic.Close()
	require.Nil(t, generic.fixed)
	for e := 1; e <= epochs; e++ {
		for _, v := range []*Materialize{typed, generic} {
			for {
				m, err := v.Next(ctx)
				require.NoError(t, err)
				if _, ok := m.(Barrier); ok {
					break
				}
			}
		}
		read := func(v *Materialize) []string {
			bs, err := v.Read(ctx, uint64(e))
			require.NoError(t, err)
			var out []string
			for _, b := range bs {
				out = append(out, formatRows(b, colTypes)...)
				b.Release()
			}
			return out
		}
		got, want := read(typed), read(generic)
		require.Equal(t, want, got, "epoch %d", e)
	}
	require.Positive(t, typed.fixed.chunks, "some chunks went through the typed path")
}

// randFixedChunk is a random keyed changelog chunk; one in six has a NULL
// key somewhere and one in six a NULL value.
func randFixedChunk(mem memory.Allocator, rng *rand.Rand, schema *arrow.Schema, space int) *Chunk {
	n := 1 + rng.IntN(60)
	nullKey, nullVal := rng.IntN(6) == 0, rng.IntN(6) == 0
	bld := array.NewRecordBuilder(mem, schema)
	defer bld.Release()
	var ops []Op
	key := func() int64 {
		return int64(rng.IntN(space)) - int64(space/2)
	}
	add := func(op Op, k int64) {
		ops = append(ops, op)
		for j, f := range bld.Fields() {
			if (j == 0 && nullKey || j > 0 && nullVal) && rng.IntN(8) == 0 {
				f.AppendNull()
				continue
			}
			v := rng.Int64N(1000) - 500
			if j == 0 {
				v = k
			}
			switch b := f.(type) {
			case *array.Int64Builder:
				b.Append(v)
			case *array.Int32Builder:
				b.Append(int32(v))
			case *array.Int16Builder:
				b.Append(int16(v))
			case *array.Float64Builder:
				fv := float64(v) / 4
				if j == 0 {
					// Special values sort and compare by the key encoding.
					switch k % 7 {
					case 0:
						fv = math.Copysign(0, -1)
					case 1:
						fv = math.NaN()
					case 2:
						fv = math.Inf(-1)
					}
				}
				b.Append(fv)
			case *array.Float32Builder:
				b.Append(float32(v) / 4)
			case *array.Date32Builder:
				b.Append(arrow.Date32(v))
			case *array.TimestampBuilder:
				b.Append(arrow.Timestamp(v * 1_000_000))
			}
		}
	}
	for len(ops) < n {
		k := key()
		switch r := rng.IntN(10); {
		case r < 5:
			add(Insert, k)
		case r < 7:
			add(Delete, k)
		case r < 9: // an update pair of the same key
			add(UpdateDelete, k)
			add(UpdateInsert, k)
		default: // a pair whose key changes
			add(UpdateDelete, k)
			add(UpdateInsert, key())
		}
	}
	return &Chunk{Batch: bld.NewRecordBatch(), Ops: ops}
}
