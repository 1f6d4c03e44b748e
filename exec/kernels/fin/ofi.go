package fin

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/exec/kernels"
)

// ofiState is one group's previous quote and running imbalance.
type ofiState struct {
	pb, qb, pa, qa float64
	sum            ksum
	has            bool
}

// ofiAcc is ofi(bid_px, bid_sz, ask_px, ask_sz) → float8, the order-flow
// imbalance of Cont, Kukanov & Stoikov (2014) summed over consecutive
// quotes n−1, n of the group:
//
//	eₙ = 1{Pᴮₙ ≥ Pᴮₙ₋₁}·qᴮₙ − 1{Pᴮₙ ≤ Pᴮₙ₋₁}·qᴮₙ₋₁
//	   − 1{Pᴬₙ ≤ Pᴬₙ₋₁}·qᴬₙ + 1{Pᴬₙ ≥ Pᴬₙ₋₁}·qᴬₙ₋₁
//	ofi = Σₙ₌₂..N eₙ
//
// The first quote contributes 0 (so a one-quote group yields 0); a quote
// with any NULL field is skipped (the next quote pairs with the last
// complete one); an empty group yields NULL. The sum is compensated.
// Order-sensitive (ofi(… ORDER BY ts)); not retractable.
type ofiAcc struct {
	st []ofiState
}

func (a *ofiAcc) Grow(n int) { a.st = growTo(a.st, n) }

func (a *ofiAcc) MemoryBytes() int64 { return int64(cap(a.st)) * 56 }

func (a *ofiAcc) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	var c [4]col[float64]
	for k := range c {
		var err error
		if c[k], err = floatArg("ofi", args, k, len(groups)); err != nil {
			return err
		}
		if c[k].allNull {
			return nil
		}
	}
	for i, g := range groups {
		if g == kernels.NoGroup || !c[0].valid(i) || !c[1].valid(i) || !c[2].valid(i) || !c[3].valid(i) {
			continue
		}
		pb, qb, pa, qa := c[0].vals[i], c[1].vals[i], c[2].vals[i], c[3].vals[i]
		s := &a.st[g]
		if s.has {
			// Each term enters the compensated sum on its own: eₙ's
			// terms can be large and nearly cancel.
			if pb >= s.pb {
				s.sum.add(qb)
			}
			if pb <= s.pb {
				s.sum.add(-s.qb)
			}
			if pa <= s.pa {
				s.sum.add(-qa)
			}
			if pa >= s.pa {
				s.sum.add(s.qa)
			}
		}
		s.pb, s.qb, s.pa, s.qa, s.has = pb, qb, pa, qa, true
	}
	return nil
}

func (a *ofiAcc) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	bb, err := float64Builder("ofi", b)
	if err != nil {
		return err
	}
	appendFloat(bb, a.st[g].sum.value(), a.st[g].has)
	return nil
}

func (a *ofiAcc) Finish(ctx *kernels.EvalContext, b array.Builder) error {
	return finishAll(ctx, a, len(a.st), b)
}
