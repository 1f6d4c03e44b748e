package exec

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Three-valued logic is computed on one byte per row.
const (
	triFalse uint8 = 0
	triTrue  uint8 = 1
	triNull  uint8 = 2
)

// triOf reads a boolean array into tri-state bytes.
func triOf(a arrow.Array, out []uint8) ([]uint8, error) {
	b, ok := a.(*array.Boolean)
	if !ok {
		if _, isNull := a.(*array.Null); isNull {
			for i := range out {
				out[i] = triNull
			}
			return out, nil
		}
		return nil, pgerror.Internal("expected a boolean array, got %s", a.DataType())
	}
	nulls := b.NullN() > 0
	for i := range out {
		switch {
		case nulls && b.IsNull(i):
			out[i] = triNull
		case b.Value(i):
			out[i] = triTrue
		default:
			out[i] = triFalse
		}
	}
	return out, nil
}

// triArr builds a boolean array from tri-state bytes.
func triArr(v []uint8) arrow.Array {
	n := len(v)
	vals := make([]byte, (n+7)/8)
	var valid []byte
	nulls := 0
	for i, x := range v {
		switch x {
		case triTrue:
			vals[i/8] |= 1 << (i % 8)
		case triNull:
			if valid == nil {
				valid = make([]byte, (n+7)/8)
				for j := 0; j < i; j++ {
					valid[j/8] |= 1 << (j % 8)
				}
			}
			nulls++
			continue
		}
		if valid != nil {
			valid[i/8] |= 1 << (i % 8)
		}
	}
	var vb *memory.Buffer
	if valid != nil {
		vb = memory.NewBufferBytes(valid)
	}
	return mkArray(arrow.FixedWidthTypes.Boolean, n, []*memory.Buffer{vb, memory.NewBufferBytes(vals)}, nil, nulls)
}

// evalTri evaluates a boolean node over rows sel of c into tri bytes.
func evalTri(n node, c *chunk, sel []int32, need []int) ([]uint8, error) {
	a, err := evalOn(n, c, sel, need)
	if err != nil {
		return nil, err
	}
	defer a.Release()
	return triOf(a, make([]uint8, a.Len()))
}

// logicNode is n-ary AND / OR. Later arguments are evaluated only on rows
// the earlier ones left undecided (AND: not false; OR: not true), so that a
// guard such as b <> 0 AND a/b > 1 never evaluates a/b where b = 0.
type logicNode struct {
	args []node
	or   bool
	need []int
}

func (n *logicNode) eval(c *chunk) (arrow.Array, error) {
	decided, start := triFalse, triTrue
	if n.or {
		decided, start = triTrue, triFalse
	}
	state := make([]uint8, c.n)
	for i := range state {
		state[i] = start
	}
	sel := seqIdx(c.n)
	for _, arg := range n.args {
		if len(sel) == 0 {
			break
		}
		r, err := evalTri(arg, c, sel, n.need)
		if err != nil {
			return nil, err
		}
		next := sel[:0]
		for k, row := range sel {
			switch r[k] {
			case decided:
				state[row] = decided
				continue
			case triNull:
				state[row] = triNull
			}
			next = append(next, row)
		}
		sel = next
	}
	return triArr(state), nil
}

type notNode struct{ in node }

func (n *notNode) eval(c *chunk) (arrow.Array, error) {
	a, err := n.in.eval(c)
	if err != nil {
		return nil, err
	}
	defer a.Release()
	v, err := triOf(a, make([]uint8, c.n))
	if err != nil {
		return nil, err
	}
	for i, x := range v {
		if x != triNull {
			v[i] = 1 - x
		}
	}
	return triArr(v), nil
}

type isNullNode struct {
	in     node
	negate bool
}

func (n *isNullNode) eval(c *chunk) (arrow.Array, error) {
	a, err := n.in.eval(c)
	if err != nil {
		return nil, err
	}
	defer a.Release()
	v := make([]uint8, c.n)
	for i := range v {
		if a.IsNull(i) != n.negate {
			v[i] = triTrue
		}
	}
	return triArr(v), nil
}

type isBoolNode struct {
	in     node
	test   planner.BoolTest
	negate bool
}

func (n *isBoolNode) eval(c *chunk) (arrow.Array, error) {
	a, err := n.in.eval(c)
	if err != nil {
		return nil, err
	}
	defer a.Release()
	v, err := triOf(a, make([]uint8, c.n))
	if err != nil {
		return nil, err
	}
	want := triTrue
	switch n.test {
	case planner.TestFalse:
		want = triFalse
	case planner.TestUnknown:
		want = triNull
	}
	for i, x := range v {
		if (x == want) != n.negate {
			v[i] = triTrue
		} else {
			v[i] = triFalse
		}
	}
	return triArr(v), nil
}

type isDistinctNode struct {
	l, r   node
	eq     *fnApply
	negate bool
}

func (n *isDistinctNode) eval(c *chunk) (arrow.Array, error) {
	l, err := n.l.eval(c)
	if err != nil {
		return nil, err
	}
	defer l.Release()
	r, err := n.r.eval(c)
	if err != nil {
		return nil, err
	}
	defer r.Release()
	eqA, err := n.eq.apply([]arrow.Array{l, r}, c.n)
	if err != nil {
		return nil, err
	}
	defer eqA.Release()
	v, err := triOf(eqA, make([]uint8, c.n))
	if err != nil {
		return nil, err
	}
	for i := range v {
		ln, rn := l.IsNull(i), r.IsNull(i)
		var distinct bool
		switch {
		case ln && rn:
			distinct = false
		case ln || rn:
			distinct = true
		default:
			distinct = v[i] != triTrue
		}
		if distinct != n.negate {
			v[i] = triTrue
		} else {
			v[i] = triFalse
		}
	}
	return triArr(v), nil
}

// piece is a partial result: values for output rows rows.
type piece struct {
	arr  arrow.Array
	rows []int32
}

// assemble scatters pieces into one array of n rows (uncovered rows NULL).
func assemble(mem memory.Allocator, t types.T, pieces []piece, n int) (arrow.Array, error) {
	if len(pieces) == 1 && len(pieces[0].rows) == n {
		inOrder := true
		for i, r := range pieces[0].rows {
			if int(r) != i {
				inOrder = false
				break
			}
		}
		if inOrder {
			pieces[0].arr.Retain()
			return pieces[0].arr, nil
		}
	}
	if len(pieces) == 0 {
		return nullArr(mem, t, n), nil
	}
	arrs := make([]arrow.Array, len(pieces))
	idx := make([]int32, n)
	for i := range idx {
		idx[i] = -1
	}
	off := int32(0)
	for i, p := range pieces {
		arrs[i] = p.arr
		for k, r := range p.rows {
			idx[r] = off + int32(k)
		}
		off += int32(p.arr.Len())
	}
	all, err := concatArrs(mem, arrs)
	if err != nil {
		return nil, err
	}
	defer all.Release()
	return takeArr(all, idx), nil
}

func releasePieces(ps []piece) {
	for _, p := range ps {
		p.arr.Release()
	}
}

// caseNode evaluates each THEN/ELSE only on the rows that reach it.
type caseNode struct {
	mem     memory.Allocator
	conds   []node
	results []node
	els     node
	t       types.T
	need    []int
}

func (n *caseNode) eval(c *chunk) (arrow.Array, error) {
	var pieces []piece
	defer func() { releasePieces(pieces) }()
	rest := seqIdx(c.n)
	for k, cond := range n.conds {
		if len(rest) == 0 {
			break
		}
		v, err := evalTri(cond, c, rest, n.need)
		if err != nil {
			return nil, err
		}
		var hit, miss []int32
		for i, row := range rest {
			if v[i] == triTrue {
				hit = append(hit, row)
			} else {
				miss = append(miss, row)
			}
		}
		if len(hit) > 0 {
			a, err := evalOn(n.results[k], c, hit, n.need)
			if err != nil {
				return nil, err
			}
			pieces = append(pieces, piece{a, hit})
		}
		rest = miss
	}
	if len(rest) > 0 && n.els != nil {
		a, err := evalOn(n.els, c, rest, n.need)
		if err != nil {
			return nil, err
		}
		pieces = append(pieces, piece{a, rest})
	}
	return assemble(n.mem, n.t, pieces, c.n)
}

// coalesceNode evaluates each argument only on rows still NULL.
type coalesceNode struct {
	mem  memory.Allocator
	args []node
	t    types.T
	need []int
}

func (n *coalesceNode) eval(c *chunk) (arrow.Array, error) {
	var pieces []piece
	defer func() { releasePieces(pieces) }()
	rest := seqIdx(c.n)
	for _, arg := range n.args {
		if len(rest) == 0 {
			break
		}
		a, err := evalOn(arg, c, rest, n.need)
		if err != nil {
			return nil, err
		}
		if a.NullN() == 0 {
			pieces = append(pieces, piece{a, rest})
			rest = nil
			break
		}
		var hit, miss []int32
		var hitIdx []int32
		for i, row := range rest {
			if a.IsValid(i) {
				hit = append(hit, row)
				hitIdx = append(hitIdx, int32(i))
			} else {
				miss = append(miss, row)
			}
		}
		if len(hit) > 0 {
			pieces = append(pieces, piece{takeArr(a, hitIdx), hit})
		}
		a.Release()
		rest = miss
	}
	return assemble(n.mem, n.t, pieces, c.n)
}

// minMaxNode is GREATEST/LEAST (NULL arguments ignored).
type minMaxNode struct {
	mem      memory.Allocator
	args     []node
	argTypes []types.T
	greatest bool
	t        types.T
}

func (n *minMaxNode) eval(c *chunk) (arrow.Array, error) {
	arrs, err := evalAll(n.args, c)
	if err != nil {
		return nil, err
	}
	defer releaseAll(arrs)
	// Pick, per row, which argument holds the winner; then gather.
	win := make([]int32, c.n)
	for i := 0; i < c.n; i++ {
		best := -1
		var bd types.Datum
		for j, a := range arrs {
			if a.IsNull(i) {
				continue
			}
			d := types.GetDatum(a, i, n.argTypes[j])
			if best < 0 {
				best, bd = j, d
				continue
			}
			cmp := compareDatum(d, bd, n.t)
			if (n.greatest && cmp > 0) || (!n.greatest && cmp < 0) {
				best, bd = j, d
			}
		}
		win[i] = int32(best)
	}
	var pieces []piece
	defer func() { releasePieces(pieces) }()
	for j, a := range arrs {
		var rows, src []int32
		for i, w := range win {
			if int(w) == j {
				rows = append(rows, int32(i))
				src = append(src, int32(i))
			}
		}
		if len(rows) > 0 {
			pieces = append(pieces, piece{takeArr(a, src), rows})
		}
	}
	return assemble(n.mem, n.t, pieces, c.n)
}

// inListNode is E [NOT] IN (list): true on a match, else NULL when E or an
// element is NULL, else false.
type inListNode struct {
	e      node
	list   []node
	eqs    []*fnApply
	negate bool
}

func (n *inListNode) eval(c *chunk) (arrow.Array, error) {
	l, err := n.e.eval(c)
	if err != nil {
		return nil, err
	}
	defer l.Release()
	state := make([]uint8, c.n)
	tmp := make([]uint8, c.n)
	for k, it := range n.list {
		r, err := it.eval(c)
		if err != nil {
			return nil, err
		}
		eq, err := n.eqs[k].apply([]arrow.Array{l, r}, c.n)
		r.Release()
		if err != nil {
			return nil, err
		}
		v, err := triOf(eq, tmp)
		eq.Release()
		if err != nil {
			return nil, err
		}
		for i, x := range v {
			if x == triTrue || (x == triNull && state[i] == triFalse) {
				state[i] = x
			}
		}
	}
	if n.negate {
		for i, x := range state {
			if x != triNull {
				state[i] = 1 - x
			}
		}
	}
	return triArr(state), nil
}
