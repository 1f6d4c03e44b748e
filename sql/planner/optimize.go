package planner

import (
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// Rule is one rewrite of the plan. It returns the new plan and whether it
// changed anything. Rules never change a node's output schema.
type Rule struct {
	Name  string
	Apply func(Node) (Node, bool, error)
}

// DefaultRules is the rule set run by Optimize, in order.
var DefaultRules = []Rule{
	{Name: "push_filters_into_joins", Apply: pushFiltersIntoJoins},
	{Name: "reorder_joins", Apply: reorderJoins},
	{Name: "prune_columns", Apply: pruneColumns},
}

// Optimize runs the rules over the plan, checking after each that the root
// schema is unchanged and naming the rule that broke it.
func Optimize(n Node) (Node, error) { return optimize(n, DefaultRules) }

// optimize folds constants (with the planner's session context), then runs
// the other rules.
func (p *Planner) optimize(n Node) (Node, error) {
	f := &folder{ec: p.foldContext()}
	rules := append([]Rule{{Name: "fold_constants", Apply: f.rule}}, DefaultRules...)
	return optimize(n, rules)
}

// foldContext is the evaluation context of plan-time constant folding.
func (p *Planner) foldContext() *kernels.EvalContext {
	ec := &kernels.EvalContext{Mem: memory.DefaultAllocator}
	if p.Ctx != nil {
		ec.Ctx = *p.Ctx
	}
	return ec
}

func optimize(n Node, rules []Rule) (Node, error) {
	for _, r := range rules {
		before := n.Schema()
		out, _, err := r.Apply(n)
		if err != nil {
			return nil, err
		}
		after := out.Schema()
		if len(before) != len(after) {
			return nil, pgerror.Internal("rule %s changed the plan's schema", r.Name)
		}
		for i := range before {
			if before[i].T != after[i].T {
				return nil, pgerror.Internal("rule %s changed the type of column %d", r.Name, i)
			}
		}
		n = out
	}
	return n, nil
}

// withChildren returns a shallow copy of n with new children.
func withChildren(n Node, ch []Node) Node {
	switch x := n.(type) {
	case *Filter:
		c := *x
		c.Input = ch[0]
		return &c
	case *Project:
		c := *x
		c.Input = ch[0]
		return &c
	case *Aggregate:
		c := *x
		c.Input = ch[0]
		return &c
	case *Join:
		c := *x
		c.Left, c.Right = ch[0], ch[1]
		return &c
	case *Sort:
		c := *x
		c.Input = ch[0]
		return &c
	case *Limit:
		c := *x
		c.Input = ch[0]
		return &c
	case *Distinct:
		c := *x
		c.Input = ch[0]
		return &c
	case *SetOp:
		c := *x
		c.Left, c.Right = ch[0], ch[1]
		return &c
	case *Window:
		c := *x
		c.Input = ch[0]
		return &c
	case *TimeWindow:
		c := *x
		c.Input = ch[0]
		return &c
	}
	return n
}

// mapChildren applies f to each child of n.
func mapChildren(n Node, f func(Node) (Node, bool, error)) (Node, bool, error) {
	chs := n.Children()
	if len(chs) == 0 {
		return n, false, nil
	}
	changed := false
	out := make([]Node, len(chs))
	for i, c := range chs {
		r, ch, err := f(c)
		if err != nil {
			return nil, false, err
		}
		out[i], changed = r, changed || ch
	}
	if !changed {
		return n, false, nil
	}
	return withChildren(n, out), true, nil
}

// pushFiltersIntoJoins moves WHERE conjuncts over inner/cross joins into
// the joins: single-side conjuncts below the join, equalities across the
// sides into hash keys, other cross-side conjuncts into the join condition.
// Conjuncts with subqueries, outer references, parameters or volatile calls
// stay where they are.
func pushFiltersIntoJoins(n Node) (Node, bool, error) {
	f, ok := n.(*Filter)
	if !ok {
		return mapChildren(n, pushFiltersIntoJoins)
	}
	in, _, err := pushFiltersIntoJoins(f.Input)
	if err != nil {
		return nil, false, err
	}
	if inner, ok := in.(*Filter); ok {
		// Merge stacked filters so all conjuncts are considered together.
		in = inner.Input
		f = &Filter{Input: in, Cond: &And{Args: []Expr{inner.Cond, f.Cond}}}
	}
	j, ok := in.(*Join)
	if !ok || (j.Kind != JoinInner && j.Kind != JoinCross && j.Kind != JoinLeft) {
		return &Filter{Input: in, Cond: f.Cond}, true, nil
	}
	nl := len(j.Left.Schema())
	nj := *j
	var keep, lp, rp []Expr
	for _, c := range Conjuncts(f.Cond) {
		lo, hi, pure := colSpan(c)
		switch {
		case !pure || hi < 0:
			keep = append(keep, c)
		case hi < nl:
			lp = append(lp, c)
		case lo >= nl && j.Kind != JoinLeft:
			rp = append(rp, shiftCols(c, -nl))
		case j.Kind == JoinLeft:
			keep = append(keep, c)
		default:
			if l, r, fn, ok := equiKey(c, nl); ok {
				nj.LeftKeys = append(append([]Expr{}, nj.LeftKeys...), l)
				nj.RightKeys = append(append([]Expr{}, nj.RightKeys...), r)
				nj.KeyFns = append(append([]*kernels.ScalarFunc{}, nj.KeyFns...), fn)
			} else if nj.Cond == nil {
				nj.Cond = c
			} else {
				nj.Cond = &And{Args: []Expr{nj.Cond, c}}
			}
		}
	}
	if len(lp) > 0 {
		if nj.Left, _, err = pushFiltersIntoJoins(&Filter{Input: nj.Left, Cond: andOf(lp)}); err != nil {
			return nil, false, err
		}
	}
	if len(rp) > 0 {
		if nj.Right, _, err = pushFiltersIntoJoins(&Filter{Input: nj.Right, Cond: andOf(rp)}); err != nil {
			return nil, false, err
		}
	}
	if nj.Kind == JoinCross && (len(nj.LeftKeys) > 0 || nj.Cond != nil) {
		nj.Kind = JoinInner
	}
	var out Node = &nj
	if len(keep) > 0 {
		out = &Filter{Input: out, Cond: andOf(keep)}
	}
	return out, true, nil
}
