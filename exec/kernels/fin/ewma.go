package fin

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/exec/kernels"
)

// ewmaState is one group's exponentially weighted moving average.
type ewmaState struct {
	s   float64
	has bool
}

// ewmaAcc is ewma(x float8, alpha float8) → float8:
//
//	s₁ = x₁
//	sₜ = α·xₜ + (1−α)·sₜ₋₁        α ∈ (0, 1]
//
// computed as sₜ₋₁ + α·(xₜ − sₜ₋₁), which loses no precision when the
// values share a large offset (prices near 1e9 that move by 1e-3). Rows
// whose x or alpha is NULL are skipped; a group without values yields NULL.
// alpha is read per row (normally a constant); a non-NULL alpha outside
// (0, 1] fails with 22023. The fold follows the order rows arrive in, so the
// aggregate is order-sensitive: ewma(x, a ORDER BY ts), or a window ordered
// by ts. Not retractable.
type ewmaAcc struct {
	st []ewmaState
}

func (a *ewmaAcc) Grow(n int) { a.st = growTo(a.st, n) }

func (a *ewmaAcc) MemoryBytes() int64 { return int64(cap(a.st)) * 16 }

func (a *ewmaAcc) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	x, err := floatArg("ewma", args, 0, len(groups))
	if err != nil {
		return err
	}
	al, err := floatArg("ewma", args, 1, len(groups))
	if err != nil {
		return err
	}
	if x.allNull || al.allNull {
		return nil
	}
	st := a.st
	xs, as := x.vals[:len(groups)], al.vals[:len(groups)]
	dense := x.vm == nil && al.vm == nil
	for i, g := range groups {
		if g == kernels.NoGroup || !dense && (!x.valid(i) || !al.valid(i)) {
			continue
		}
		alpha, v := as[i], xs[i]
		if !(alpha > 0 && alpha <= 1) {
			return errRange("ewma", "alpha", "(0, 1]", alpha)
		}
		s := &st[g]
		if s.has && alpha != 1 {
			prev := s.s
			v = prev + alpha*(v-prev)
			if v != v && prev == prev && xs[i] == xs[i] {
				// ∞ − ∞: fall back to the textbook form.
				v = alpha*xs[i] + (1-alpha)*prev
			}
		}
		s.s, s.has = v, true
	}
	return nil
}

func (a *ewmaAcc) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	bb, err := float64Builder("ewma", b)
	if err != nil {
		return err
	}
	appendFloat(bb, a.st[g].s, a.st[g].has)
	return nil
}

func (a *ewmaAcc) Finish(ctx *kernels.EvalContext, b array.Builder) error {
	return finishAll(ctx, a, len(a.st), b)
}
