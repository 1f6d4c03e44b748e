package streamplan

import (
	"context"

	"github.com/sabotsql/sabotsql/exec/stream"
	"github.com/sabotsql/sabotsql/sql/planner"
)

// asofJoin builds an ASOF [LEFT] JOIN: key and time expressions that are
// not plain columns are computed into extra columns of each input first;
// ties are decided over the right input's own columns only. With ">=" or
// ">" and watermarks on both time columns, the left time column carries
// them on (see stream.AsOfJoin).
func (b *Builder) asofJoin(ctx context.Context, x *planner.Join) (flow, error) {
	le, op, re, err := planner.AsOfInequality(x)
	if err != nil {
		return flow{}, err
	}
	lk := append([]planner.Expr(nil), x.LeftKeys...)
	rk := append([]planner.Expr(nil), x.RightKeys...)
	for i := range lk {
		lt, rt := lk[i].Type(), rk[i].Type()
		if lt.Family != rt.Family {
			ct, err := commonKeyType(lt, rt)
			if err != nil {
				return flow{}, err
			}
			if lt.Family != ct.Family {
				lk[i] = &planner.Cast{E: lk[i], To: ct}
			}
			if rt.Family != ct.Family {
				rk[i] = &planner.Cast{E: rk[i], To: ct}
			}
		}
	}
	nk := len(lk)
	left, err := b.build(ctx, x.Left)
	if err != nil {
		return flow{}, err
	}
	right, err := b.build(ctx, x.Right)
	if err != nil {
		left.ex.Close()
		return flow{}, err
	}
	ls, rs := x.Left.Schema(), x.Right.Schema()
	left, ls2, lpos, err := b.extend(left, ls, append(lk, le))
	if err != nil {
		right.ex.Close()
		return flow{}, err
	}
	right, rs2, rpos, err := b.extend(right, rs, append(rk, re))
	if err != nil {
		left.ex.Close()
		return flow{}, err
	}
	aj, err := stream.NewAsOfJoin(left.ex, right.ex, ls2.Types(), rs2.Types(), lpos[:nk], rpos[:nk],
		lpos[nk], rpos[nk], op, len(rs), x.Kind == planner.JoinAsOfLeft)
	if err != nil {
		left.ex.Close()
		right.ex.Close()
		return flow{}, err
	}
	aj.WithMemBudget(b.MemBudget)
	joined := append(append(planner.Schema{}, ls2...), rs2...)
	f := flow{ex: aj, ts: joined.Types(), wm: map[int]bool{}}
	// With ">=" or ">" and watermarks on both time columns, the join
	// forwards the smaller on the left time column (stream.AsOfJoin).
	if (op == ">=" || op == ">") && left.wm[lpos[nk]] && right.wm[rpos[nk]] {
		f.wm[lpos[nk]] = true
	}
	if len(ls2) != len(ls) || len(rs2) != len(rs) {
		exprs := make([]planner.Expr, 0, len(ls)+len(rs))
		for i, c := range ls {
			exprs = append(exprs, &planner.ColRef{Idx: i, T: c.T})
		}
		for i, c := range rs {
			exprs = append(exprs, &planner.ColRef{Idx: len(ls2) + i, T: c.T})
		}
		out := append(append(planner.Schema{}, ls...), rs...)
		if f, err = b.project(f, exprs, joined, out); err != nil {
			return flow{}, err
		}
	}
	return f, nil
}
