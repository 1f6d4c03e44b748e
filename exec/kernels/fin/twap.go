package fin

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// twapState is one group's last observation and running Σ p·Δt, Σ Δt.
type twapState struct {
	p    float64
	ts   int64
	area ksum
	span int64
	has  bool
}

// twapAcc is twap(price, ts) → float8, the time-weighted average price:
// each price is weighted by the time until the next observation,
//
//	twap = Σᵢ₌₁..N₋₁ pᵢ·(tᵢ₊₁ − tᵢ) / (t_N − t₁)
//
// so the last price has weight 0. When the group spans no time (one row, or
// all rows at one instant) the result is the last price. Rows with a NULL
// price or ts are skipped; an empty group yields NULL. Rows must arrive in
// ts order (twap(p, ts ORDER BY ts), or a window ordered by ts): a ts
// earlier than the previous row's fails with 22000. ts is timestamp,
// timestamptz (microseconds) or bigint (any unit). Order-sensitive; not
// retractable.
type twapAcc[T ~int64, A arrow.Array] struct {
	st []twapState
}

func (a *twapAcc[T, A]) Grow(n int) { a.st = growTo(a.st, n) }

func (a *twapAcc[T, A]) MemoryBytes() int64 { return int64(cap(a.st)) * 48 }

func (a *twapAcc[T, A]) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	p, err := floatArg("twap", args, 0, len(groups))
	if err != nil {
		return err
	}
	ts, err := fixedArg[T, A]("twap", args, 1, len(groups))
	if err != nil {
		return err
	}
	if p.allNull || ts.allNull {
		return nil
	}
	for i, g := range groups {
		if g == kernels.NoGroup || !p.valid(i) || !ts.valid(i) {
			continue
		}
		s := &a.st[g]
		t := int64(ts.vals[i])
		if s.has {
			if t < s.ts {
				return pgerror.New(pgerror.DataException, "twap: input is not ordered by time").
					WithHint("Use twap(price, ts ORDER BY ts) or a window ordered by ts.")
			}
			dt := t - s.ts
			if dt < 0 || s.span+dt < s.span {
				return pgerror.New(pgerror.NumericValueOutOfRange, "twap: time difference out of range")
			}
			s.area.addProd(s.p, float64(dt))
			s.span += dt
		}
		s.p, s.ts, s.has = p.vals[i], t, true
	}
	return nil
}

func (a *twapAcc[T, A]) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	bb, err := float64Builder("twap", b)
	if err != nil {
		return err
	}
	s := &a.st[g]
	switch {
	case !s.has:
		bb.AppendNull()
	case s.span == 0:
		bb.Append(s.p)
	default:
		bb.Append(s.area.value() / float64(s.span))
	}
	return nil
}

func (a *twapAcc[T, A]) Finish(ctx *kernels.EvalContext, b array.Builder) error {
	return finishAll(ctx, a, len(a.st), b)
}
