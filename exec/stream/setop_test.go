package stream

import (
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

func naiveSetOp(l, r [][]*int64, except, all bool) []string {
	cnt := map[string][2]int64{}
	for i, rows := range [][][]*int64{l, r} {
		for _, x := range rows {
			c := cnt[fmtRow(x)]
			c[i]++
			cnt[fmtRow(x)] = c
		}
	}
	var out []string
	for s, c := range cnt {
		var n int64
		switch {
		case except && all:
			n = max(c[0]-c[1], 0)
		case except:
			if c[0] > 0 && c[1] == 0 {
				n = 1
			}
		case all:
			n = min(c[0], c[1])
		default:
			n = min(c[0], c[1], 1)
		}
		for ; n > 0; n-- {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// TestSetOpRandomized checks INTERSECT/EXCEPT [ALL] against counts of the
// net inputs after every barrier.
func TestSetOpRandomized(t *testing.T) {
	seed := opSeed(t)
	rng := rand.New(rand.NewPCG(seed, 3))
	for cfg := 0; cfg < 16; cfg++ {
		except, all := cfg%2 == 0, cfg%4 >= 2
		kind := map[bool]string{true: "except", false: "intersect"}[except]
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		r := newSetOpRun(t, mem, kind, all)
		ms := make([]model, 2)
		hi := int64(1 + rng.IntN(3))
		for e := 0; e < 12; e++ {
			for in := range 2 {
				if rng.IntN(4) > 0 {
					opRandPush(rng, r, in, &ms[in], func() []*int64 { return opRandRow(rng, 2, hi) }, 60)
				}
			}
			r.barrier()
			require.Equal(t, naiveSetOp(ms[0].rows, ms[1].rows, except, all), r.rows(), "seed %d cfg %d epoch %d %s all=%v", seed, cfg, e, kind, all)
		}
		r.close()
		mem.AssertSize(t, 0)
	}
}

func TestSetOpErrors(t *testing.T) {
	r := newOpRun(t, memory.DefaultAllocator, 2, 2)
	_, err := NewSetOp(r.ins[0], r.ins[1], r.types(0), "union", false)
	require.Error(t, err)
	r3 := newOpRun(t, memory.DefaultAllocator, 2, 3)
	_, err = NewSetOp(r3.ins[0], r3.ins[1], r3.types(0), "except", false)
	require.Error(t, err)
}
