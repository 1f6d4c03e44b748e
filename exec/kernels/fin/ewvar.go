package fin

import (
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/exec/kernels"
)

// ewKind selects what ewAcc reports.
type ewKind uint8

const (
	ewVar  ewKind = iota // ewvar(r, λ)
	ewStd                // ewstd(r, λ)
	ewCov                // ewcov(x, y, λ)
	ewCorr               // ewcorr(x, y, λ)
)

func (k ewKind) name() string {
	return [...]string{"ewvar", "ewstd", "ewcov", "ewcorr"}[k]
}

// ewState is one group's RiskMetrics moments.
type ewState struct {
	vx, vy, c float64
	has       bool
}

// ewAcc is the RiskMetrics (J.P. Morgan, 1996) exponentially weighted
// family with decay λ ∈ [0, 1). Inputs are returns, taken to have zero
// mean (no mean is subtracted):
//
//	σ²₁ = r₁²                      σ²ₜ = λ·σ²ₜ₋₁ + (1−λ)·rₜ²     ewvar
//	ewstd = √ewvar
//	c₁ = x₁·y₁                     cₜ = λ·cₜ₋₁ + (1−λ)·xₜ·yₜ     ewcov
//	ewcorr = ewcov / (√ewvar(x) · √ewvar(y))   over the same rows
//
// Initialising with the first squared return (rather than 0 or a sample
// variance) makes a one-row group's variance r₁² and keeps every result a
// proper weighted average of squares. Rows where any argument is NULL are
// skipped; a group without values yields NULL, and ewcorr yields NULL while
// either variance is 0. A λ outside [0, 1) fails with 22023.
// Order-sensitive; not retractable.
type ewAcc struct {
	kind ewKind
	st   []ewState
}

func (a *ewAcc) Grow(n int) { a.st = growTo(a.st, n) }

func (a *ewAcc) MemoryBytes() int64 { return int64(cap(a.st)) * 32 }

func (a *ewAcc) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	name := a.kind.name()
	n := len(groups)
	x, err := floatArg(name, args, 0, n)
	if err != nil {
		return err
	}
	y, lk := x, 1
	if a.kind == ewCov || a.kind == ewCorr {
		if y, err = floatArg(name, args, 1, n); err != nil {
			return err
		}
		lk = 2
	}
	lam, err := floatArg(name, args, lk, n)
	if err != nil {
		return err
	}
	if x.allNull || y.allNull || lam.allNull {
		return nil
	}
	pair := lk == 2
	dense := x.vm == nil && y.vm == nil && lam.vm == nil
	for i, g := range groups {
		if g == kernels.NoGroup || !dense && (!x.valid(i) || !y.valid(i) || !lam.valid(i)) {
			continue
		}
		l := lam.vals[i]
		if !(l >= 0 && l < 1) {
			return errRange(name, "lambda", "[0, 1)", l)
		}
		s := &a.st[g]
		xv, w := x.vals[i], 1-l
		first := !s.has || l == 0
		if !pair {
			if first {
				s.vx = xv * xv
			} else {
				s.vx = ewStep(s.vx, xv*xv, w)
			}
		} else {
			yv := y.vals[i]
			if first {
				s.vx, s.vy, s.c = xv*xv, yv*yv, xv*yv
			} else {
				s.vx = ewStep(s.vx, xv*xv, w)
				s.vy = ewStep(s.vy, yv*yv, w)
				s.c = ewStep(s.c, xv*yv, w)
			}
		}
		s.has = true
	}
	return nil
}

// ewStep returns λ·v + (1−λ)·sq for w = 1−λ, computed as v + w·(sq − v)
// (exact for sq = v); ∞ − ∞ falls back to the textbook form.
func ewStep(v, sq, w float64) float64 {
	r := v + w*(sq-v)
	if r != r {
		r = (1-w)*v + w*sq
	}
	return r
}

func (a *ewAcc) result(g uint32) (float64, bool) {
	s := &a.st[g]
	if !s.has {
		return 0, false
	}
	switch a.kind {
	case ewVar:
		return s.vx, true
	case ewStd:
		return math.Sqrt(s.vx), true
	case ewCov:
		return s.c, true
	default:
		if s.vx == 0 || s.vy == 0 {
			return 0, false
		}
		r := s.c / (math.Sqrt(s.vx) * math.Sqrt(s.vy))
		// Cauchy–Schwarz bounds the exact value; clamp rounding overshoot.
		return math.Max(-1, math.Min(1, r)), true
	}
}

func (a *ewAcc) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	bb, err := float64Builder(a.kind.name(), b)
	if err != nil {
		return err
	}
	v, ok := a.result(g)
	appendFloat(bb, v, ok)
	return nil
}

func (a *ewAcc) Finish(ctx *kernels.EvalContext, b array.Builder) error {
	return finishAll(ctx, a, len(a.st), b)
}
