package planner

import (
	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/types"
)

// reorderJoins rebuilds each maximal tree of inner/cross joins (with the
// filters inside it) as a left-deep tree in which every join after the first
// leaf is connected to the tables before it by an equality when possible, so
// that FROM lists written in any order (t1, t9, t3 … WHERE …) do not build
// cross products. A Project on top restores the original column order.
func reorderJoins(n Node) (Node, bool, error) {
	if !isInnerTree(n) {
		return mapChildren(n, reorderJoins)
	}
	fl := &joinFlattener{}
	fl.flatten(n, 0)
	if len(fl.leaves) < 3 {
		// Two inputs: order is already decided by the pushdown rule.
		return mapChildren(n, reorderJoins)
	}
	for i := range fl.leaves {
		c, _, err := reorderJoins(fl.leaves[i].node)
		if err != nil {
			return nil, false, err
		}
		fl.leaves[i].node = c
	}
	return fl.rebuild(n.Schema()), true, nil
}

func isInnerTree(n Node) bool {
	switch x := n.(type) {
	case *Join:
		return x.Kind == JoinInner || x.Kind == JoinCross
	case *Filter:
		if j, ok := x.Input.(*Join); ok && (j.Kind == JoinInner || j.Kind == JoinCross) {
			_, _, pure := colSpan(x.Cond)
			return pure
		}
	}
	return false
}

type joinLeaf struct {
	node   Node
	offset int // first column in the original concatenated schema
	width  int
}

type joinFlattener struct {
	leaves []joinLeaf
	conds  []Expr // over the original concatenated schema
}

func (f *joinFlattener) flatten(n Node, off int) {
	if isInnerTree(n) {
		switch x := n.(type) {
		case *Filter:
			for _, c := range Conjuncts(x.Cond) {
				f.conds = append(f.conds, shiftCols(c, off))
			}
			f.flatten(x.Input, off)
			return
		case *Join:
			nl := len(x.Left.Schema())
			for i := range x.LeftKeys {
				var fn *kernels.ScalarFunc
				if i < len(x.KeyFns) {
					fn = x.KeyFns[i]
				}
				if fn == nil {
					// Without the resolved "=" the pair cannot be rebuilt
					// elsewhere: keep this join as a leaf.
					f.leaves = append(f.leaves, joinLeaf{node: n, offset: off, width: len(n.Schema())})
					return
				}
				f.conds = append(f.conds, &equiPair{l: shiftCols(x.LeftKeys[i], off), r: shiftCols(x.RightKeys[i], off+nl), fn: fn})
			}
			if x.Cond != nil {
				for _, c := range Conjuncts(x.Cond) {
					f.conds = append(f.conds, shiftCols(c, off))
				}
			}
			f.flatten(x.Left, off)
			f.flatten(x.Right, off+nl)
			return
		}
	}
	f.leaves = append(f.leaves, joinLeaf{node: n, offset: off, width: len(n.Schema())})
}

// equiPair is a hash-join key pair carried through reordering (never
// reaches exec).
type equiPair struct {
	l, r Expr
	fn   *kernels.ScalarFunc
}

func (e *equiPair) Type() types.T  { return types.BoolT }
func (e *equiPair) String() string { return e.l.String() + " = " + e.r.String() }

func pairEq(p *equiPair, l, r Expr) Expr {
	return &Call{Fn: p.fn, Args: []Expr{l, r}, T: types.BoolT}
}

// leafOf returns the leaf index holding original column g.
func (f *joinFlattener) leafOf(g int) int {
	for i, l := range f.leaves {
		if g >= l.offset && g < l.offset+l.width {
			return i
		}
	}
	return -1
}

// leavesOf returns the set of leaves an expression reads.
func (f *joinFlattener) leavesOf(e Expr) map[int]bool {
	out := map[int]bool{}
	walkExpr(e, func(x Expr) bool {
		if c, ok := x.(*ColRef); ok {
			out[f.leafOf(c.Idx)] = true
		}
		return true
	})
	return out
}

func (f *joinFlattener) rebuild(orig Schema) Node {
	type cond struct {
		e      Expr
		pair   *equiPair
		leaves map[int]bool
		placed bool
	}
	var cs []*cond
	for _, c := range f.conds {
		if p, ok := c.(*equiPair); ok {
			ls := f.leavesOf(p.l)
			for k := range f.leavesOf(p.r) {
				ls[k] = true
			}
			cs = append(cs, &cond{pair: p, leaves: ls})
			continue
		}
		cs = append(cs, &cond{e: c, leaves: f.leavesOf(c)})
	}
	connects := func(in map[int]bool, leaf int) bool {
		for _, c := range cs {
			if c.placed || !c.leaves[leaf] || len(c.leaves) < 2 {
				continue
			}
			ok := true
			for l := range c.leaves {
				if l != leaf && !in[l] {
					ok = false
				}
			}
			if ok && (c.pair != nil || isEquality(c.e)) {
				return true
			}
		}
		return false
	}
	// newPos maps an original column to its position in the new order.
	newPos := make([]int, len(orig))
	in := map[int]bool{}
	var order []int
	used := make([]bool, len(f.leaves))
	pick := func(i int) {
		used[i] = true
		order = append(order, i)
	}
	pick(0)
	in[0] = true
	for len(order) < len(f.leaves) {
		next := -1
		for i := range f.leaves {
			if !used[i] && connects(in, i) {
				next = i
				break
			}
		}
		if next < 0 {
			for i := range f.leaves {
				if !used[i] {
					next = i
					break
				}
			}
		}
		pick(next)
		in[next] = true
	}
	pos := 0
	for _, i := range order {
		l := f.leaves[i]
		for k := 0; k < l.width; k++ {
			newPos[l.offset+k] = pos
			pos++
		}
	}
	remap := func(e Expr, delta int) Expr {
		out, _ := rewriteExpr(e, func(x Expr) (Expr, error) {
			if c, ok := x.(*ColRef); ok {
				return &ColRef{Idx: newPos[c.Idx] - delta, T: c.T, Name: c.Name}, nil
			}
			return nil, nil
		})
		return out
	}
	// Constant conditions (no columns) go on the first join.
	var node Node = f.leaves[order[0]].node
	have := map[int]bool{order[0]: true}
	width := f.leaves[order[0]].width
	for step, i := range order[1:] {
		leaf := f.leaves[i]
		j := &Join{Kind: JoinCross, Left: node, Right: leaf.node}
		j.Out = append(append(Schema{}, node.Schema()...), leaf.node.Schema()...)
		have[i] = true
		var rest []Expr
		for _, c := range cs {
			if c.placed {
				continue
			}
			inside := true
			for l := range c.leaves {
				if !have[l] {
					inside = false
				}
			}
			if !inside && !(len(c.leaves) == 0 && step == 0) {
				continue
			}
			c.placed = true
			if c.pair != nil {
				l, r := remap(c.pair.l, 0), remap(c.pair.r, 0)
				if lo, _, _ := colSpan(l); lo >= width {
					l, r = r, l
				}
				if _, hi, _ := colSpan(l); hi < width {
					if lo, _, _ := colSpan(r); lo >= width {
						j.LeftKeys = append(j.LeftKeys, l)
						j.RightKeys = append(j.RightKeys, shiftCols(r, -width))
						j.KeyFns = append(j.KeyFns, c.pair.fn)
						continue
					}
				}
				rest = append(rest, pairEq(c.pair, l, r))
				continue
			}
			rest = append(rest, remap(c.e, 0))
		}
		j.Cond = andOf(rest)
		splitJoinCond(j)
		if len(j.LeftKeys) > 0 || j.Cond != nil {
			j.Kind = JoinInner
		}
		node = j
		width += leaf.width
	}
	exprs := make([]Expr, len(orig))
	for g, c := range orig {
		exprs[g] = &ColRef{Idx: newPos[g], T: c.T, Name: c.Name}
	}
	return &Project{Input: node, Exprs: exprs, Out: orig}
}

func isEquality(e Expr) bool {
	c, ok := e.(*Call)
	return ok && c.Fn.Name == "=" && len(c.Args) == 2
}
