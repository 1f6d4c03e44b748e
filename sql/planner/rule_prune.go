package planner

// pruneColumns narrows base-table scans to the columns the plan reads, so
// operators never carry (filter, take, hash) columns nobody uses. It walks
// the plan top-down with the set of output columns each node's parent
// needs; nodes whose output schema is fixed by their own expressions
// (Project, Aggregate) stop schema changes from travelling further up, and
// every expression above a narrowed node is remapped, including correlated
// references inside subquery plans.
func pruneColumns(n Node) (Node, bool, error) {
	need := make([]bool, len(n.Schema()))
	for i := range need {
		need[i] = true
	}
	out, _ := prune(n, need)
	return out, true, nil
}

// refs marks in need the columns e reads: ColRefs, and OuterRefs of
// subquery plans that point at this level.
func refs(need []bool, es ...Expr) {
	for _, e := range es {
		if e == nil {
			continue
		}
		walkExpr(e, func(x Expr) bool {
			switch v := x.(type) {
			case *ColRef:
				if v.Idx < len(need) {
					need[v.Idx] = true
				}
			case *Subquery:
				_ = walkPlanOuterRefs(v.Plan, 1, func(level int, r *OuterRef) (Expr, error) {
					if r.Depth == level && r.Idx < len(need) {
						need[r.Idx] = true
					}
					return r, nil
				})
			}
			return true
		})
	}
}

// remap rewrites the column references of e through m (old → new index).
func remap(e Expr, m []int) Expr {
	if e == nil || m == nil {
		return e
	}
	out, _ := rewriteExpr(e, func(x Expr) (Expr, error) {
		switch v := x.(type) {
		case *ColRef:
			return &ColRef{Idx: m[v.Idx], T: v.T, Name: v.Name}, nil
		case *Subquery:
			c := *v
			c.Left = remap(v.Left, m)
			_ = walkPlanOuterRefs(c.Plan, 1, func(level int, r *OuterRef) (Expr, error) {
				if r.Depth == level {
					r.Idx = m[r.Idx]
				}
				return r, nil
			})
			return &c, nil
		}
		return nil, nil
	})
	return out
}

func remapAll(es []Expr, m []int) []Expr {
	if m == nil {
		return es
	}
	out := make([]Expr, len(es))
	for i, e := range es {
		out[i] = remap(e, m)
	}
	return out
}

func allNeeded(n int) []bool {
	need := make([]bool, n)
	for i := range need {
		need[i] = true
	}
	return need
}

// prune returns n producing at least the needed columns, and the mapping
// from n's old output positions to the new ones (nil: unchanged).
func prune(n Node, need []bool) (Node, []int) {
	switch x := n.(type) {
	case *Scan:
		if x.RowID {
			return x, nil
		}
		keep := false
		for _, b := range need {
			keep = keep || b
		}
		if !keep && len(need) > 0 {
			need[0] = true // a scan produces rows even when no column is read
		}
		m := make([]int, len(x.Out))
		s := &Scan{Table: x.Table, Alias: x.Alias}
		changed := false
		for i, c := range x.Out {
			if !need[i] {
				m[i] = -1
				changed = true
				continue
			}
			m[i] = len(s.Out)
			s.Cols = append(s.Cols, x.Cols[i])
			s.Out = append(s.Out, c)
		}
		if !changed {
			return x, nil
		}
		return s, m
	case *Filter:
		cn := append([]bool(nil), need...)
		refs(cn, x.Cond)
		in, m := prune(x.Input, cn)
		return &Filter{Input: in, Cond: remap(x.Cond, m)}, m
	case *Project:
		// Outputs nobody reads become NULL constants (the schema stays the
		// same), so their inputs need not be produced. Volatile expressions
		// are kept for their side effects.
		exprs := make([]Expr, len(x.Exprs))
		for i, e := range x.Exprs {
			if i < len(need) && !need[i] && !hasVolatile(e) {
				exprs[i] = &Const{T: e.Type()}
				continue
			}
			exprs[i] = e
		}
		cn := make([]bool, len(x.Input.Schema()))
		refs(cn, exprs...)
		in, m := prune(x.Input, cn)
		return &Project{Input: in, Exprs: remapAll(exprs, m), Out: x.Out}, nil
	case *Aggregate:
		cn := make([]bool, len(x.Input.Schema()))
		refs(cn, x.GroupBy...)
		for _, a := range x.Aggs {
			refs(cn, a.Args...)
			refs(cn, a.Filter)
			for _, k := range a.OrderBy {
				refs(cn, k.E)
			}
		}
		in, m := prune(x.Input, cn)
		c := *x
		c.Input = in
		c.GroupBy = remapAll(x.GroupBy, m)
		c.Aggs = make([]AggCall, len(x.Aggs))
		for i, a := range x.Aggs {
			a.Args = remapAll(a.Args, m)
			a.Filter = remap(a.Filter, m)
			keys := make([]SortKey, len(a.OrderBy))
			for j, k := range a.OrderBy {
				k.E = remap(k.E, m)
				keys[j] = k
			}
			a.OrderBy = keys
			c.Aggs[i] = a
		}
		return &c, nil
	case *Sort:
		cn := append([]bool(nil), need...)
		for _, k := range x.Keys {
			refs(cn, k.E)
		}
		in, m := prune(x.Input, cn)
		keys := make([]SortKey, len(x.Keys))
		for i, k := range x.Keys {
			k.E = remap(k.E, m)
			keys[i] = k
		}
		return &Sort{Input: in, Keys: keys}, m
	case *Limit:
		in, m := prune(x.Input, append([]bool(nil), need...))
		c := *x
		c.Input = in
		return &c, m
	case *Join:
		nl := len(x.Left.Schema())
		nr := len(x.Right.Schema())
		ln := make([]bool, nl)
		rn := make([]bool, nr)
		for i := 0; i < nl && i < len(need); i++ {
			ln[i] = need[i]
		}
		if x.Kind != JoinSemi && x.Kind != JoinAnti {
			for i := 0; i < nr && nl+i < len(need); i++ {
				rn[i] = need[nl+i]
			}
		}
		if x.Kind == JoinAsOf || x.Kind == JoinAsOfLeft {
			// Ties are broken over the whole right row (asof.go).
			for i := range rn {
				rn[i] = true
			}
		}
		refs(ln, x.LeftKeys...)
		refs(rn, x.RightKeys...)
		both := make([]bool, nl+nr)
		refs(both, x.Cond)
		for i := 0; i < nl; i++ {
			ln[i] = ln[i] || both[i]
		}
		for i := 0; i < nr; i++ {
			rn[i] = rn[i] || both[nl+i]
		}
		l, ml := prune(x.Left, ln)
		r, mr := prune(x.Right, rn)
		if ml == nil && mr == nil {
			c := *x
			c.Left, c.Right = l, r
			return &c, nil
		}
		newL := len(l.Schema())
		m := make([]int, nl+nr)
		for i := 0; i < nl; i++ {
			if ml == nil {
				m[i] = i
			} else {
				m[i] = ml[i]
			}
		}
		for i := 0; i < nr; i++ {
			j := i
			if mr != nil {
				j = mr[i]
			}
			if j < 0 {
				m[nl+i] = -1
			} else {
				m[nl+i] = newL + j
			}
		}
		c := *x
		c.Left, c.Right = l, r
		c.LeftKeys = remapAll(x.LeftKeys, ml)
		c.RightKeys = remapAll(x.RightKeys, mr)
		c.Cond = remap(x.Cond, m)
		if x.Kind == JoinSemi || x.Kind == JoinAnti {
			c.Out = append(Schema{}, l.Schema()...)
			return &c, ml
		}
		c.Out = append(append(Schema{}, l.Schema()...), r.Schema()...)
		return &c, m
	case *Window:
		nIn := len(x.Input.Schema())
		cn := make([]bool, nIn)
		for i := 0; i < nIn && i < len(need); i++ {
			cn[i] = need[i]
		}
		for _, c := range x.Calls {
			refs(cn, c.Args...)
			refs(cn, c.PartitionBy...)
			refs(cn, c.Filter)
			for _, k := range c.OrderBy {
				refs(cn, k.E)
			}
			if c.Frame.Start.Offset != nil {
				refs(cn, c.Frame.Start.Offset)
			}
			if c.Frame.End.Offset != nil {
				refs(cn, c.Frame.End.Offset)
			}
		}
		in, m := prune(x.Input, cn)
		if m == nil {
			c := *x
			c.Input = in
			return &c, nil
		}
		w := &Window{Input: in, Out: append(Schema{}, in.Schema()...)}
		for _, c := range x.Calls {
			c.Args = remapAll(c.Args, m)
			c.PartitionBy = remapAll(c.PartitionBy, m)
			c.Filter = remap(c.Filter, m)
			keys := make([]SortKey, len(c.OrderBy))
			for j, k := range c.OrderBy {
				k.E = remap(k.E, m)
				keys[j] = k
			}
			c.OrderBy = keys
			w.Calls = append(w.Calls, c)
		}
		w.Out = append(w.Out, x.Out[nIn:]...)
		newIn := len(in.Schema())
		up := make([]int, len(x.Out))
		for i := range up {
			if i < nIn {
				up[i] = m[i]
			} else {
				up[i] = newIn + (i - nIn)
			}
		}
		return w, up
	}
	// Other nodes need every column of their children (their own schema is
	// unchanged): prune below them independently.
	chs := n.Children()
	if len(chs) == 0 {
		return n, nil
	}
	out := make([]Node, len(chs))
	changed := false
	for i, c := range chs {
		r, m := prune(c, allNeeded(len(c.Schema())))
		if m != nil {
			// A child whose schema changed would break this node's
			// references: keep it unpruned.
			r = c
		}
		out[i] = r
		changed = changed || r != c
	}
	if !changed {
		return n, nil
	}
	return withChildren(n, out), nil
}

func hasVolatile(e Expr) bool {
	found := false
	walkExpr(e, func(x Expr) bool {
		switch v := x.(type) {
		case *Call:
			if v.Fn.Volatility == 2 {
				found = true
			}
		case *Subquery:
			found = true // keep subqueries: their errors are the statement's
		}
		return !found
	})
	return found
}
