package stream

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/types"
)

// TestOverWindowRandomized checks row_number() and a running sum against a
// naive per-partition evaluation after every barrier.
func TestOverWindowRandomized(t *testing.T) {
	seed := opSeed(t)
	rng := rand.New(rand.NewPCG(seed, 5))
	for cfg := 0; cfg < 20; cfg++ {
		part := [][]int{nil, {0}, {0, 2}}[rng.IntN(3)]
		order := opRandOrder(rng, 3)
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		r := newOverWindowRun(t, mem, 3, part, order)
		var m model
		hi := int64(1 + rng.IntN(5))
		for e := 0; e < 10; e++ {
			opRandPush(rng, r, 0, &m, func() []*int64 { return opRandRow(rng, 3, hi) }, 50)
			r.barrier()
			require.Equal(t, naiveOverWindow(m.rows, part, order), r.rows(), "seed %d cfg %d epoch %d part %v order %+v", seed, cfg, e, part, order)
		}
		r.close()
		mem.AssertSize(t, 0)
	}
}

func TestOverWindowComputeErrors(t *testing.T) {
	boom := errors.New("boom")
	for name, f := range map[string]func(context.Context, arrow.RecordBatch) ([]arrow.Array, error){
		"error":  func(context.Context, arrow.RecordBatch) ([]arrow.Array, error) { return nil, boom },
		"width":  func(context.Context, arrow.RecordBatch) ([]arrow.Array, error) { return nil, nil },
		"length": naiveWindowShort,
		"type": func(ctx context.Context, b arrow.RecordBatch) ([]arrow.Array, error) {
			out, err := naiveWindowFunc(memory.DefaultAllocator)(ctx, b)
			if err != nil {
				return nil, err
			}
			bb := array.NewBooleanBuilder(memory.DefaultAllocator)
			defer bb.Release()
			for i := 0; i < out[1].Len(); i++ {
				bb.Append(true)
			}
			out[1].Release()
			out[1] = bb.NewArray()
			return out, nil
		},
	} {
		t.Run(name, func(t *testing.T) {
			r := newOpRun(t, memory.DefaultAllocator, 2)
			in := r.ins[0].schema
			fields := append(append([]arrow.Field(nil), in.Fields()...), types.ArrowField("rn", types.Int8T), types.ArrowField("rsum", types.Int8T))
			op, err := NewOverWindow(r.ins[0], r.types(0), arrow.NewSchema(fields, nil), []int{0}, []SortCol{{Col: 1}}, f)
			require.NoError(t, err)
			r.push(0, parseRows(t, "+ 1 1\n+ 1 2"))
			r.ins[0].msgs = append(r.ins[0].msgs, Barrier{Epoch: 1})
			_, err = op.Next(t.Context())
			require.Error(t, err)
			if name == "error" {
				require.ErrorIs(t, err, boom)
			}
			require.NoError(t, op.Close())
		})
	}
}

func naiveWindowShort(ctx context.Context, b arrow.RecordBatch) ([]arrow.Array, error) {
	out, err := naiveWindowFunc(memory.DefaultAllocator)(ctx, b)
	if err != nil {
		return nil, err
	}
	s := out[0]
	out[0] = array.NewSlice(s, 0, int64(s.Len()-1))
	s.Release()
	return out, nil
}
