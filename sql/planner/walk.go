package planner

// rewriteExpr rebuilds e bottom-up, replacing each node by fn's result when
// fn returns a non-nil Expr (its children are then not visited). Subquery
// plans are not entered; use rewriteOuterRefs for those.
func rewriteExpr(e Expr, fn func(Expr) (Expr, error)) (Expr, error) {
	if e == nil {
		return nil, nil
	}
	if r, err := fn(e); err != nil || r != nil {
		return r, err
	}
	rw := func(x Expr) (Expr, error) { return rewriteExpr(x, fn) }
	rwList := func(xs []Expr) ([]Expr, error) {
		out := make([]Expr, len(xs))
		for i, x := range xs {
			r, err := rw(x)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	var err error
	switch x := e.(type) {
	case *Call:
		c := *x
		c.Args, err = rwList(x.Args)
		return &c, err
	case *Cast:
		c := *x
		c.E, err = rw(x.E)
		return &c, err
	case *And:
		a, err := rwList(x.Args)
		return &And{Args: a}, err
	case *Or:
		a, err := rwList(x.Args)
		return &Or{Args: a}, err
	case *Not:
		a, err := rw(x.E)
		return &Not{E: a}, err
	case *IsNull:
		c := *x
		c.E, err = rw(x.E)
		return &c, err
	case *IsBool:
		c := *x
		c.E, err = rw(x.E)
		return &c, err
	case *IsDistinct:
		c := *x
		if c.L, err = rw(x.L); err != nil {
			return nil, err
		}
		c.R, err = rw(x.R)
		return &c, err
	case *Case:
		c := *x
		c.Whens = make([]When, len(x.Whens))
		for i, w := range x.Whens {
			if c.Whens[i].Cond, err = rw(w.Cond); err != nil {
				return nil, err
			}
			if c.Whens[i].Result, err = rw(w.Result); err != nil {
				return nil, err
			}
		}
		c.Else, err = rw(x.Else)
		return &c, err
	case *Coalesce:
		c := *x
		c.Args, err = rwList(x.Args)
		return &c, err
	case *MinMax:
		c := *x
		c.Args, err = rwList(x.Args)
		return &c, err
	case *InList:
		c := *x
		if c.E, err = rw(x.E); err != nil {
			return nil, err
		}
		c.List, err = rwList(x.List)
		return &c, err
	case *Subquery:
		c := *x
		c.Left, err = rw(x.Left)
		return &c, err
	case *ArrayCtor:
		c := *x
		c.Elems, err = rwList(x.Elems)
		return &c, err
	case *ArraySubscript:
		c := *x
		if c.Array, err = rw(x.Array); err != nil {
			return nil, err
		}
		c.Index, err = rw(x.Index)
		return &c, err
	case *ArrayCompare:
		c := *x
		if c.Left, err = rw(x.Left); err != nil {
			return nil, err
		}
		c.Array, err = rw(x.Array)
		return &c, err
	}
	return e, nil
}

// walkExpr calls fn on every node of e (pre-order), entering subquery plans
// when enterPlans is set; fn returning false stops descent below that node.
func walkExpr(e Expr, fn func(Expr) bool) {
	if e == nil || !fn(e) {
		return
	}
	switch x := e.(type) {
	case *Call:
		for _, a := range x.Args {
			walkExpr(a, fn)
		}
	case *Cast:
		walkExpr(x.E, fn)
	case *And:
		for _, a := range x.Args {
			walkExpr(a, fn)
		}
	case *Or:
		for _, a := range x.Args {
			walkExpr(a, fn)
		}
	case *Not:
		walkExpr(x.E, fn)
	case *IsNull:
		walkExpr(x.E, fn)
	case *IsBool:
		walkExpr(x.E, fn)
	case *IsDistinct:
		walkExpr(x.L, fn)
		walkExpr(x.R, fn)
	case *Case:
		for _, w := range x.Whens {
			walkExpr(w.Cond, fn)
			walkExpr(w.Result, fn)
		}
		walkExpr(x.Else, fn)
	case *Coalesce:
		for _, a := range x.Args {
			walkExpr(a, fn)
		}
	case *MinMax:
		for _, a := range x.Args {
			walkExpr(a, fn)
		}
	case *InList:
		walkExpr(x.E, fn)
		for _, a := range x.List {
			walkExpr(a, fn)
		}
	case *Subquery:
		walkExpr(x.Left, fn)
	case *ArrayCtor:
		for _, a := range x.Elems {
			walkExpr(a, fn)
		}
	case *ArraySubscript:
		walkExpr(x.Array, fn)
		walkExpr(x.Index, fn)
	case *ArrayCompare:
		walkExpr(x.Left, fn)
		walkExpr(x.Array, fn)
	}
}

// nodeExprs returns pointers to every expression slot owned by node n (not
// its children), so callers can inspect or replace them in place while the
// plan is still being built.
func nodeExprs(n Node) []*Expr {
	var out []*Expr
	add := func(es []Expr) {
		for i := range es {
			out = append(out, &es[i])
		}
	}
	switch x := n.(type) {
	case *Values:
		for _, r := range x.Rows {
			add(r)
		}
	case *Filter:
		out = append(out, &x.Cond)
	case *Project:
		add(x.Exprs)
	case *Aggregate:
		add(x.GroupBy)
		for i := range x.Aggs {
			add(x.Aggs[i].Args)
			if x.Aggs[i].Filter != nil {
				out = append(out, &x.Aggs[i].Filter)
			}
			for j := range x.Aggs[i].OrderBy {
				out = append(out, &x.Aggs[i].OrderBy[j].E)
			}
		}
	case *Join:
		add(x.LeftKeys)
		add(x.RightKeys)
		if x.Cond != nil {
			out = append(out, &x.Cond)
		}
	case *Sort:
		for i := range x.Keys {
			out = append(out, &x.Keys[i].E)
		}
	case *Limit:
		if x.CountExpr != nil {
			out = append(out, &x.CountExpr)
		}
		if x.OffsetExpr != nil {
			out = append(out, &x.OffsetExpr)
		}
	case *Distinct:
		add(x.On)
	case *Window:
		for i := range x.Calls {
			c := &x.Calls[i]
			add(c.Args)
			add(c.PartitionBy)
			if c.Filter != nil {
				out = append(out, &c.Filter)
			}
			for j := range c.OrderBy {
				out = append(out, &c.OrderBy[j].E)
			}
			if c.Frame.Start.Offset != nil {
				out = append(out, &c.Frame.Start.Offset)
			}
			if c.Frame.End.Offset != nil {
				out = append(out, &c.Frame.End.Offset)
			}
		}
	case *TableFunc:
		add(x.Args)
	}
	return out
}

// walkPlanOuterRefs visits every OuterRef in plan n (and nested subquery
// plans) whose Depth equals the nesting level at which it appears plus
// base-1, i.e. every reference that points at the level enclosing n by
// base levels. fn may replace the reference.
func walkPlanOuterRefs(n Node, level int, fn func(level int, r *OuterRef) (Expr, error)) error {
	for _, slot := range nodeExprs(n) {
		r, err := rewriteOuter(*slot, level, fn)
		if err != nil {
			return err
		}
		*slot = r
	}
	for _, c := range n.Children() {
		if err := walkPlanOuterRefs(c, level, fn); err != nil {
			return err
		}
	}
	return nil
}

func rewriteOuter(e Expr, level int, fn func(level int, r *OuterRef) (Expr, error)) (Expr, error) {
	return rewriteExpr(e, func(x Expr) (Expr, error) {
		switch v := x.(type) {
		case *OuterRef:
			return fn(level, v)
		case *Subquery:
			if err := walkPlanOuterRefs(v.Plan, level+1, fn); err != nil {
				return nil, err
			}
			c := *v
			l, err := rewriteOuter(v.Left, level, fn)
			if err != nil {
				return nil, err
			}
			c.Left = l
			return &c, nil
		}
		return nil, nil
	})
}

// planIsCorrelated reports whether plan n (a subquery body) references any
// query level outside itself.
func planIsCorrelated(n Node) bool {
	found := false
	_ = walkPlanOuterRefs(n, 1, func(level int, r *OuterRef) (Expr, error) {
		if r.Depth >= level {
			found = true
		}
		return r, nil
	})
	return found
}
