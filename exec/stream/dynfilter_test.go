package stream

import (
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/pgerror"
)

func naiveDynFilter(rows [][]*int64, col int, op string, v *int64, haveV bool) []string {
	var out []string
	for _, r := range rows {
		x := r[col]
		if !haveV || v == nil || x == nil {
			continue
		}
		ok := map[string]bool{"<": *x < *v, "<=": *x <= *v, ">": *x > *v, ">=": *x >= *v, "=": *x == *v, "<>": *x != *v}[op]
		if ok {
			out = append(out, fmtRow(r))
		}
	}
	sort.Strings(out)
	return out
}

// TestDynamicFilterRandomized changes the left rows and the right value
// (replaced, deleted, NULL, re-inserted within an epoch) at random and
// checks the output against a plain filter after every barrier.
func TestDynamicFilterRandomized(t *testing.T) {
	seed := opSeed(t)
	rng := rand.New(rand.NewPCG(seed, 4))
	for cfg := 0; cfg < 24; cfg++ {
		op := []string{"<", "<=", ">", ">=", "=", "<>"}[cfg%6]
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		r := newDynFilterRun(t, mem, 1, op)
		var m model
		var v *int64
		haveV := false
		hi := int64(2 + rng.IntN(8))
		for e := 0; e < 15; e++ {
			if rng.IntN(3) > 0 {
				opRandPush(rng, r, 0, &m, func() []*int64 { return opRandRow(rng, 2, hi) }, 60)
			}
			if rng.IntN(2) == 0 {
				nv := randVal(rng, 0, hi, 15)
				switch x := rng.IntN(4); {
				case !haveV:
					r.push(1, []row{{op: Insert, vals: []*int64{nv}}})
					v, haveV = nv, true
				case x == 0:
					r.push(1, []row{{op: Delete, vals: []*int64{v}}})
					haveV = false
				case x == 1:
					// Delete and re-insert in separate chunks of one epoch.
					r.push(1, []row{{op: Delete, vals: []*int64{v}}})
					r.push(1, []row{{op: Insert, vals: []*int64{nv}}})
					v = nv
				default:
					r.push(1, []row{{op: UpdateDelete, vals: []*int64{v}}, {op: UpdateInsert, vals: []*int64{nv}}})
					v = nv
				}
			}
			r.barrier()
			require.Equal(t, naiveDynFilter(m.rows, 1, op, v, haveV), r.rows(), "seed %d cfg %d epoch %d op %s", seed, cfg, e, op)
		}
		r.close()
		mem.AssertSize(t, 0)
	}
}

func TestDynamicFilterTwoRightRows(t *testing.T) {
	r := newDynFilterRun(t, memory.DefaultAllocator, 0, "<")
	defer r.close()
	r.push(1, parseRows(t, "+ 1\n+ 2"))
	r.epoch++
	for _, in := range r.ins {
		in.msgs = append(in.msgs, Barrier{Epoch: r.epoch})
	}
	var err error
	for err == nil {
		var m Message
		m, err = r.op.Next(t.Context())
		require.False(t, m == nil && err == nil, "no error")
	}
	require.Equal(t, pgerror.CardinalityViolation, pgerror.CodeOf(err))
}

func TestDynamicFilterErrors(t *testing.T) {
	r := newOpRun(t, memory.DefaultAllocator, 2, 1)
	ts := r.types(0)
	_, err := NewDynamicFilter(r.ins[0], r.ins[1], ts, 0, "~", ts[0])
	require.Error(t, err)
	_, err = NewDynamicFilter(r.ins[0], r.ins[1], ts, 3, "<", ts[0])
	require.Error(t, err)
	_, err = NewDynamicFilter(r.ins[0], r.ins[0], ts, 0, "<", ts[0])
	require.Error(t, err) // right input has two columns
}

// TestDynamicFilterMonotonic: with a right value that only rises (a
// temporal filter's now()), a monotonic > or >= filter gives the plain
// filter's output after every barrier while its state holds only rows
// that pass (the rows left behind, and new rows below the value, are not
// kept; deletes of them find nothing to undo).
func TestDynamicFilterMonotonic(t *testing.T) {
	seed := opSeed(t)
	rng := rand.New(rand.NewPCG(seed, 5))
	smaller := 0
	for cfg := 0; cfg < 16; cfg++ {
		op := []string{">", ">="}[cfg%2]
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		r := newDynFilterRun(t, mem, 1, op)
		plain := newDynFilterRun(t, mem, 1, op)
		r.op.(*DynamicFilter).WithMonotonic()
		var m model
		hi := int64(40)
		cur := int64(rng.IntN(5))
		for e := 0; e < 30; e++ {
			if rng.IntN(4) > 0 {
				for _, rows := range opRandChunks(rng, &m, func() []*int64 { return opRandRow(rng, 2, hi) }, 20) {
					r.push(0, rows)
					plain.push(0, rows)
				}
			}
			nv := cur + int64(rng.IntN(3))
			var rows []row
			if e == 0 {
				rows = []row{{op: Insert, vals: []*int64{&nv}}}
			} else if nv != cur {
				old := cur
				rows = []row{{op: Delete, vals: []*int64{&old}}, {op: Insert, vals: []*int64{&nv}}}
			}
			if rows != nil {
				r.push(1, rows)
				plain.push(1, rows)
			}
			cur = nv
			r.barrier()
			plain.barrier()
			v := cur
			want := naiveDynFilter(m.rows, 1, op, &v, true)
			require.Equal(t, want, r.rows(), "seed %d cfg %d epoch %d op %s", seed, cfg, e, op)
			require.Equal(t, want, plain.rows())
		}
		got, all := r.op.(*DynamicFilter).StateBytes(), plain.op.(*DynamicFilter).StateBytes()
		require.LessOrEqual(t, got, all)
		if got < all {
			smaller++
		}
		r.close()
		plain.close()
		mem.AssertSize(t, 0)
	}
	require.Greater(t, smaller, 12, "the monotonic filters kept less")
}
