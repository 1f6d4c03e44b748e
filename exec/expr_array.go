package exec

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Array expressions (one-dimensional arrays as Arrow List arrays).

func (cp *compiler) compileArray(e planner.Expr) (node, error) {
	switch e := e.(type) {
	case *planner.ArrayCtor:
		elems, err := cp.compileAll(e.Elems)
		if err != nil {
			return nil, err
		}
		et := e.T.ElemType()
		for i, x := range e.Elems {
			if !arrow.TypeEqual(types.ArrowType(x.Type()), types.ArrowType(et)) {
				elems[i] = newCastNode(cp.evalCtx(), elems[i], x.Type(), et, false)
			}
		}
		return &arrayCtorNode{mem: cp.env.alloc(), elems: elems, t: e.T}, nil
	case *planner.ArraySubscript:
		arr, err := cp.compile(e.Array)
		if err != nil {
			return nil, err
		}
		idx, err := cp.compile(e.Index)
		if err != nil {
			return nil, err
		}
		return &subscriptNode{arr: arr, idx: idx, idxT: e.Index.Type()}, nil
	case *planner.ArrayCompare:
		l, err := cp.compile(e.Left)
		if err != nil {
			return nil, err
		}
		arr, err := cp.compile(e.Array)
		if err != nil {
			return nil, err
		}
		if e.Op == nil {
			return nil, pgerror.Internal("ANY/ALL over an array without operator")
		}
		ap := &fnApply{ctx: cp.evalCtx(), fn: e.Op, argTypes: []types.T{e.Left.Type(), e.Array.Type().ElemType()}, t: types.BoolT}
		return &arrayCmpNode{left: l, arr: arr, op: ap, all: e.Kind == planner.SubAll}, nil
	}
	return nil, pgerror.Unsupported("expression %T is not supported by the executor", e)
}

// arrayCtorNode is ARRAY[e1, …, em]: row r's list holds e1[r] … em[r].
type arrayCtorNode struct {
	mem   memory.Allocator
	elems []node
	t     types.T
}

func (n *arrayCtorNode) eval(c *chunk) (arrow.Array, error) {
	vals, err := evalAll(n.elems, c)
	if err != nil {
		return nil, err
	}
	defer releaseAll(vals)
	m := len(vals)
	var child arrow.Array
	if m == 0 {
		child = nullArr(n.mem, n.t.ElemType(), 0)
	} else {
		all, err := concatArrs(n.mem, vals)
		if err != nil {
			return nil, err
		}
		idx := make([]int32, c.n*m)
		for r := 0; r < c.n; r++ {
			for j := 0; j < m; j++ {
				idx[r*m+j] = int32(j*c.n + r)
			}
		}
		child = takeArr(all, idx)
		all.Release()
	}
	defer child.Release()
	offs := make([]int32, c.n+1)
	for r := range offs {
		offs[r] = int32(r * m)
	}
	return mkArray(types.ArrowType(n.t), c.n, []*memory.Buffer{nil, memory.NewBufferBytes(arrow.GetBytes(offs))},
		[]arrow.ArrayData{child.Data()}, 0), nil
}

// subscriptNode is arr[i] (1-based; NULL when out of range or NULL input).
type subscriptNode struct {
	arr, idx node
	idxT     types.T
}

func (n *subscriptNode) eval(c *chunk) (arrow.Array, error) {
	a, err := n.arr.eval(c)
	if err != nil {
		return nil, err
	}
	defer a.Release()
	ix, err := n.idx.eval(c)
	if err != nil {
		return nil, err
	}
	defer ix.Release()
	list, ok := a.(*array.List)
	if !ok {
		return nil, pgerror.Internal("subscript of a non-array value (%s)", a.DataType())
	}
	src := make([]int32, c.n)
	for r := 0; r < c.n; r++ {
		src[r] = -1
		if list.IsNull(r) || ix.IsNull(r) {
			continue
		}
		i, ok := types.GetDatum(ix, r, n.idxT).(int64)
		if !ok {
			continue
		}
		lo, hi := list.ValueOffsets(r)
		if i >= 1 && i <= hi-lo {
			src[r] = int32(lo + i - 1)
		}
	}
	return takeArr(list.ListValues(), src), nil
}

// arrayCmpNode is left op ANY/ALL (array), three-valued: ANY is true on a
// true comparison, else NULL if one was NULL, else false (false for an
// empty array); ALL dually. A NULL array gives NULL.
type arrayCmpNode struct {
	left, arr node
	op        *fnApply
	all       bool
}

func (n *arrayCmpNode) eval(c *chunk) (arrow.Array, error) {
	l, err := n.left.eval(c)
	if err != nil {
		return nil, err
	}
	defer l.Release()
	a, err := n.arr.eval(c)
	if err != nil {
		return nil, err
	}
	defer a.Release()
	list, ok := a.(*array.List)
	if !ok {
		return nil, pgerror.Internal("ANY/ALL over a non-array value (%s)", a.DataType())
	}
	// Flatten: one comparison per element, the left value repeated.
	var parent, child []int32
	for r := 0; r < c.n; r++ {
		if list.IsNull(r) {
			continue
		}
		lo, hi := list.ValueOffsets(r)
		for k := lo; k < hi; k++ {
			parent = append(parent, int32(r))
			child = append(child, int32(k))
		}
	}
	state := make([]uint8, c.n)
	start, decided := triFalse, triTrue
	if n.all {
		start, decided = triTrue, triFalse
	}
	for r := range state {
		state[r] = start
		if list.IsNull(r) {
			state[r] = triNull
		}
	}
	if len(parent) > 0 {
		lrep := takeArr(l, parent)
		elems := takeArr(list.ListValues(), child)
		res, err := n.op.apply([]arrow.Array{lrep, elems}, len(parent))
		lrep.Release()
		elems.Release()
		if err != nil {
			return nil, err
		}
		v, err := triOf(res, make([]uint8, len(parent)))
		res.Release()
		if err != nil {
			return nil, err
		}
		for k, r := range parent {
			switch {
			case state[r] == decided:
			case v[k] == decided:
				state[r] = decided
			case v[k] == triNull:
				state[r] = triNull
			}
		}
	}
	return triArr(state), nil
}
