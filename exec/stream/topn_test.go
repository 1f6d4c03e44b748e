package stream

import (
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/types"
)

func opRandOrder(rng *rand.Rand, width int) []SortCol {
	cols := rng.Perm(width)[:1+rng.IntN(2)]
	out := make([]SortCol, len(cols))
	for i, c := range cols {
		out[i] = SortCol{Col: c, Desc: rng.IntN(2) == 0, NullsFirst: rng.IntN(2) == 0}
	}
	return out
}

// TestTopNRandomized checks TopN against a sort of the net input after
// every barrier, over random orders, limits, offsets and WITH TIES.
func TestTopNRandomized(t *testing.T) {
	seed := opSeed(t)
	rng := rand.New(rand.NewPCG(seed, 1))
	for cfg := 0; cfg < 40; cfg++ {
		order := opRandOrder(rng, 3)
		limit := []int64{-1, 0, 1, 3, 7, 20}[rng.IntN(6)]
		offset := []int64{0, 0, 1, 4}[rng.IntN(4)]
		ties := rng.IntN(2) == 0
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		r := newTopNRun(t, mem, 3, order, limit, offset, ties)
		var m model
		hi := int64(1 + rng.IntN(6))
		for e := 0; e < 12; e++ {
			opRandPush(rng, r, 0, &m, func() []*int64 { return opRandRow(rng, 3, hi) }, 80)
			r.barrier()
			require.Equal(t, naiveTopN(m.rows, order, limit, offset, ties), r.rows(),
				"seed %d cfg %d epoch %d order %+v limit %d offset %d ties %v", seed, cfg, e, order, limit, offset, ties)
		}
		r.close()
		mem.AssertSize(t, 0)
	}
}

func TestTopNErrors(t *testing.T) {
	r := newOpRun(t, memory.DefaultAllocator, 2)
	_, err := NewTopN(r.ins[0], r.types(0), []SortCol{{Col: 2}}, 1, 0, false)
	require.Error(t, err)
	_, err = NewTopN(r.ins[0], r.types(0), nil, 1, -1, false)
	require.Error(t, err)
	_, err = NewTopN(r.ins[0], []types.T{types.Int8T}, nil, 1, 0, false)
	require.Error(t, err)
	// A delete of a row never inserted is an internal error, not a panic.
	op, err := NewTopN(r.ins[0], r.types(0), []SortCol{{Col: 0}}, 1, 0, false)
	require.NoError(t, err)
	r.op, r.ts = op, r.types(0)
	r.push(0, parseRows(t, "- 1 1"))
	_, err = op.Next(t.Context())
	require.ErrorContains(t, err, "not present")
	require.NoError(t, op.Close())
}

// TestTopNKeepsExactValues: numeric 1.0 and 1.00 are equal in SQL but
// distinct rows to pass on; deleting 1.00 must retract 1.00, not 1.0.
func TestTopNKeepsExactValues(t *testing.T) {
	ts := []types.T{types.NumericT}
	schema := arrow.NewSchema([]arrow.Field{types.ArrowField("n", types.NumericT)}, nil)
	chunk := func(ops []Op, vals ...string) *Chunk {
		b := array.NewBuilder(memory.DefaultAllocator, schema.Field(0).Type)
		defer b.Release()
		for _, v := range vals {
			d, err := types.NumericFromString(v)
			require.NoError(t, err)
			types.AppendDatum(b, d, ts[0])
		}
		a := b.NewArray()
		defer a.Release()
		return &Chunk{Batch: array.NewRecordBatch(schema, []arrow.Array{a}, int64(len(vals))), Ops: ops}
	}
	src := &opScript{schema: schema}
	op, err := NewTopN(src, ts, []SortCol{{Col: 0}}, 2, 0, false)
	require.NoError(t, err)
	r := &opRun{t: t, mem: memory.DefaultAllocator, ins: []*opScript{src}, op: op, ts: ts, view: map[string]int64{}}
	src.msgs = append(src.msgs, chunk([]Op{Insert, Insert, Insert}, "1.0", "1.00", "2"))
	r.barrier()
	require.Equal(t, []string{"1.0", "1.00"}, r.rows())
	src.msgs = append(src.msgs, chunk([]Op{Delete}, "1.00"))
	require.Equal(t, []string{"- 1.00", "+ 2"}, r.barrier())
	require.Equal(t, []string{"1.0", "2"}, r.rows())
	r.close()
}
