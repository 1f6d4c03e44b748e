package fin

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/exec/kernels"
)

// vwapState is one group's Σp·q, Σq and row count.
type vwapState struct {
	pq, q ksum
	n     int64
}

// vwapAcc is vwap(price, qty) → float8 = Σ pᵢ·qᵢ / Σ qᵢ over the rows where
// both are non-NULL. Products are exact (TwoProduct) and both sums are
// compensated. NULL for an empty group and when Σq = 0. Order-insensitive
// and retractable: Retract subtracts the same terms, and a group whose
// count returns to 0 is reset to exactly empty.
type vwapAcc struct {
	st []vwapState
}

func (a *vwapAcc) Grow(n int) { a.st = growTo(a.st, n) }

func (a *vwapAcc) MemoryBytes() int64 { return int64(cap(a.st)) * 40 }

func (a *vwapAcc) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	return a.apply(groups, args, 1)
}

func (a *vwapAcc) Retract(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	return a.apply(groups, args, -1)
}

func (a *vwapAcc) apply(groups []uint32, args []arrow.Array, sign float64) error {
	p, err := floatArg("vwap", args, 0, len(groups))
	if err != nil {
		return err
	}
	q, err := floatArg("vwap", args, 1, len(groups))
	if err != nil {
		return err
	}
	if p.allNull || q.allNull {
		return nil
	}
	d := int64(sign)
	for i, g := range groups {
		if g == kernels.NoGroup || !p.valid(i) || !q.valid(i) {
			continue
		}
		s := &a.st[g]
		qv := sign * q.vals[i]
		s.pq.addProd(p.vals[i], qv)
		s.q.add(qv)
		s.n += d
		if s.n == 0 {
			*s = vwapState{}
		}
	}
	return nil
}

func (a *vwapAcc) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	bb, err := float64Builder("vwap", b)
	if err != nil {
		return err
	}
	s := &a.st[g]
	q := s.q.value()
	appendFloat(bb, s.pq.value()/q, s.n > 0 && q != 0)
	return nil
}

func (a *vwapAcc) Finish(ctx *kernels.EvalContext, b array.Builder) error {
	return finishAll(ctx, a, len(a.st), b)
}

// sqState is one group's Σr² and row count.
type sqState struct {
	s ksum
	n int64
}

// realizedVarAcc is realized_var(r) → float8 = Σ rᵢ² over the non-NULL
// rows (squares exact, sum compensated); NULL for an empty group.
// Order-insensitive and retractable.
type realizedVarAcc struct {
	st []sqState
}

func (a *realizedVarAcc) Grow(n int) { a.st = growTo(a.st, n) }

func (a *realizedVarAcc) MemoryBytes() int64 { return int64(cap(a.st)) * 24 }

func (a *realizedVarAcc) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	return a.apply(groups, args, 1)
}

func (a *realizedVarAcc) Retract(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	return a.apply(groups, args, -1)
}

func (a *realizedVarAcc) apply(groups []uint32, args []arrow.Array, sign float64) error {
	r, err := floatArg("realized_var", args, 0, len(groups))
	if err != nil {
		return err
	}
	if r.allNull {
		return nil
	}
	d := int64(sign)
	for i, g := range groups {
		if g == kernels.NoGroup || !r.valid(i) {
			continue
		}
		s := &a.st[g]
		v := r.vals[i]
		s.s.addProd(v, sign*v)
		s.n += d
		if s.n == 0 {
			*s = sqState{}
		}
	}
	return nil
}

func (a *realizedVarAcc) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	bb, err := float64Builder("realized_var", b)
	if err != nil {
		return err
	}
	s := &a.st[g]
	appendFloat(bb, s.s.value(), s.n > 0)
	return nil
}

func (a *realizedVarAcc) Finish(ctx *kernels.EvalContext, b array.Builder) error {
	return finishAll(ctx, a, len(a.st), b)
}
