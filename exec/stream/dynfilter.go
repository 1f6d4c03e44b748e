package stream

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// DynamicFilter keeps the left rows whose column col compares with op to
// the current value v of the right input (a scalar subquery's one-row,
// one-column stream): `WHERE x > (SELECT max(y) FROM t)`.
//
// Left rows live in an ordered treap keyed by col's memcomparable key then
// the whole-row key (with counts); left changes are filtered with the
// current v and passed on at once (update pairs whose halves disagree
// become a plain Delete or Insert). Right changes are collected during the
// epoch and applied at its barrier: if v changed, only the left rows whose
// key lies between the old and the new v (a point range for = and <>)
// are visited, and those whose verdict flipped are emitted. With no right
// row or a NULL value nothing passes; more than one right row is a
// cardinality violation (21000), as for a scalar subquery. Left
// watermarks pass through; right watermarks are dropped.
type DynamicFilter struct {
	al        *aligner
	leftTypes []types.T
	col       int
	op        string
	rightType types.T
	schema    *arrow.Schema
	mem       memory.Allocator

	tree   *ordTree // left rows
	right  map[string]*dfRight
	v      types.Datum // current value; nil: nothing passes
	kbuf   []byte
	rdirty bool
	em     *rowEmitter
	q      opQueue

	bytes  int64 // the tree's entries (ordTree.bytes) and dfRightBytes
	charge memCharge

	// mono: the right value never decreases (WithMonotonic).
	mono bool
}

// WithMonotonic declares that the right value never decreases (a temporal
// filter's now() - INTERVAL '…'). With > or >=, a left row that fails
// against the value never passes again: it is not kept, and the rows a
// rising value leaves behind are dropped from the state (their Deletes
// emitted first), so the state holds only the rows that pass. Other
// operators ignore it.
func (f *DynamicFilter) WithMonotonic() *DynamicFilter {
	f.mono = f.op == ">" || f.op == ">="
	return f
}

// dfRightBytes estimates one distinct right value of key length klen.
func dfRightBytes(klen int, val types.Datum) int64 {
	return mapEntryBytes + stringBytes + ptrBytes + 24 + int64(klen) + datumBytes(val)
}

// WithMemBudget makes DynamicFilter charge its state (every left row,
// boxed, ordered by the filtered column; the right values) to b after
// every chunk and barrier, failing with SQLSTATE 53200 from Next when b
// refuses. Close releases it all. nil (the default) means unlimited.
func (f *DynamicFilter) WithMemBudget(b MemBudget) *DynamicFilter {
	f.charge = memCharge{budget: b, what: "dynamic filter"}
	return f
}

// StateBytes is the operator's current estimate of the memory its state
// holds.
func (f *DynamicFilter) StateBytes() int64 { return f.bytes }

type dfRight struct {
	val types.Datum
	n   int64
}

// NewDynamicFilter keeps left rows where left[col] <op> v, v being the
// single value of the right input (a one-column stream of at most one row).
// op is one of "<", "<=", ">", ">=", "=", "<>". No right row or a NULL
// value: nothing passes. When v changes, the difference is emitted.
func NewDynamicFilter(left, right Executor, leftTypes []types.T, col int, op string, rightType types.T) (*DynamicFilter, error) {
	ls := left.Schema()
	if ls.NumFields() != len(leftTypes) {
		return nil, pgerror.Internal("stream: dynamic filter input has %d fields and %d types", ls.NumFields(), len(leftTypes))
	}
	if col < 0 || col >= len(leftTypes) {
		return nil, pgerror.Internal("stream: dynamic filter column %d out of range", col)
	}
	if right.Schema().NumFields() != 1 {
		return nil, pgerror.Internal("stream: dynamic filter right input has %d columns", right.Schema().NumFields())
	}
	switch op {
	case "<", "<=", ">", ">=", "=", "<>":
	default:
		return nil, pgerror.Internal("stream: dynamic filter operator %q", op)
	}
	if lt := leftTypes[col]; lt.Family != rightType.Family && !(lt.IsInteger() && rightType.IsInteger()) {
		// Integers share one Datum and key encoding; other mixes need a
		// cast in the plan.
		return nil, pgerror.Internal("stream: dynamic filter compares %s with %s (cast one side)", lt, rightType)
	}
	f := &DynamicFilter{al: newAligner(left, right), leftTypes: leftTypes, col: col, op: op, rightType: rightType,
		schema: ls, mem: memory.DefaultAllocator, right: map[string]*dfRight{},
		em: newRowEmitter(ls, leftTypes, memory.DefaultAllocator)}
	f.tree = newOrdTreeAcct(&f.bytes)
	return f, nil
}

// WithAllocator makes the operator allocate its output with mem (before use).
func (f *DynamicFilter) WithAllocator(mem memory.Allocator) *DynamicFilter {
	f.mem = mem
	f.em.mem = mem
	return f
}

// Schema implements Executor.
func (f *DynamicFilter) Schema() *arrow.Schema { return f.schema }

// Next implements Executor.
func (f *DynamicFilter) Next(ctx context.Context) (Message, error) {
	for {
		if m, ok := f.q.pop(); ok {
			return m, nil
		}
		side, m, err := f.al.next(ctx)
		if err != nil || m == nil {
			return m, err
		}
		switch m := m.(type) {
		case *Chunk:
			if side == 1 {
				err := f.applyRight(m)
				m.Release()
				if err == nil {
					err = f.charge.set(f.StateBytes())
				}
				if err != nil {
					return nil, err
				}
				continue
			}
			out, err := f.applyLeft(m)
			m.Release()
			if err == nil {
				err = f.charge.set(f.StateBytes())
			}
			if err != nil {
				if out != nil {
					out.Release()
				}
				return nil, err
			}
			if out != nil {
				return out, nil
			}
		case Barrier:
			if err := f.flush(); err != nil {
				return nil, err
			}
			f.q.push(f.em.take()...)
			f.q.push(m)
		case Watermark:
			if side == 0 {
				return m, nil
			}
		default:
			return m, nil
		}
	}
}

// passes reports whether a left value x passes against v.
func (f *DynamicFilter) passes(x, v types.Datum) bool {
	if x == nil || v == nil {
		return false
	}
	c := types.Compare(x, v, f.rightType)
	switch f.op {
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	case "=":
		return c == 0
	}
	return c != 0
}

func (f *DynamicFilter) applyLeft(c *Chunk) (*Chunk, error) {
	keep := make([]bool, len(c.Ops))
	for i, op := range c.Ops {
		vals := boxRow(c.Batch, i, f.leftTypes)
		if f.mono && f.v != nil && !f.passes(vals[f.col], f.v) {
			// Below the value (or NULL): never passes, not kept; a
			// delete of such a row finds it already gone.
			continue
		}
		f.kbuf = types.AppendKey(f.kbuf[:0], vals[f.col], f.leftTypes[f.col])
		plen := len(f.kbuf)
		f.kbuf = appendExactRowIdentity(f.kbuf, vals, f.leftTypes)
		n, err := f.tree.add(string(f.kbuf), plen, vals, op.Sign())
		if err != nil {
			return nil, err
		}
		if n.cnt == 0 {
			f.tree.remove(n.key)
		}
		keep[i] = f.passes(vals[f.col], f.v)
	}
	var idx []int32
	var ops []Op
	for i, op := range c.Ops {
		switch {
		case op == UpdateDelete && i+1 < len(c.Ops) && c.Ops[i+1] == UpdateInsert && keep[i] != keep[i+1]:
			if keep[i] {
				op = Delete
			}
		case op == UpdateInsert && i > 0 && c.Ops[i-1] == UpdateDelete && keep[i] != keep[i-1]:
			op = Insert
		}
		if keep[i] {
			idx = append(idx, int32(i))
			ops = append(ops, op)
		}
	}
	if len(idx) == 0 {
		return nil, nil
	}
	if len(idx) == len(c.Ops) {
		c.Batch.Retain()
		return &Chunk{Batch: c.Batch, Ops: ops}, nil
	}
	return &Chunk{Batch: vec.TakeBatch(f.mem, c.Batch, idx), Ops: ops}, nil
}

func (f *DynamicFilter) applyRight(c *Chunk) error {
	col := c.Batch.Column(0)
	for i, op := range c.Ops {
		d := types.GetDatum(col, i, f.rightType)
		f.kbuf = types.AppendKey(f.kbuf[:0], d, f.rightType)
		r := f.right[string(f.kbuf)]
		if r == nil {
			r = &dfRight{val: d}
			f.right[string(f.kbuf)] = r
			f.bytes += dfRightBytes(len(f.kbuf), d)
		}
		r.n += op.Sign()
		switch {
		case r.n < 0:
			return pgerror.Internal("stream: dynamic filter right input deletes a row that is not present")
		case r.n == 0:
			delete(f.right, string(f.kbuf))
			f.bytes -= dfRightBytes(len(f.kbuf), r.val)
		}
	}
	f.rdirty = true
	return nil
}

// flush applies the epoch's right changes.
func (f *DynamicFilter) flush() error {
	if !f.rdirty {
		return nil
	}
	f.rdirty = false
	var nv types.Datum
	var rows int64
	for _, r := range f.right {
		rows += r.n
		nv = r.val
	}
	if rows > 1 {
		return pgerror.New(pgerror.CardinalityViolation, "more than one row returned by a subquery used as an expression")
	}
	old := f.v
	if (old == nil) == (nv == nil) && (old == nil || types.Compare(old, nv, f.rightType) == 0) {
		f.v = nv
		return nil
	}
	f.v = nv
	key := func(d types.Datum) string { return string(types.AppendKey(nil, d, f.rightType)) }
	switch {
	case f.op == "=" || (f.op == "<>" && old != nil && nv != nil):
		// Only rows equal to the old or the new value change.
		for _, d := range []types.Datum{old, nv} {
			if d != nil {
				k := key(d)
				f.scan(old, nv, k, k)
			}
		}
	case f.op == "<>":
		f.scan(old, nv, "", "")
	default:
		// The passing set is a prefix (<, <=) or suffix (>, >=) of the
		// non-NULL keys: rows between the two values flip. A missing value
		// stands for the far end of its side.
		less := f.op == "<" || f.op == "<="
		var lo, hi string
		switch {
		case old != nil && nv != nil:
			lo, hi = min(key(old), key(nv)), max(key(old), key(nv))
		case less:
			hi = key(old)
			if old == nil {
				hi = key(nv)
			}
		default:
			lo = key(old)
			if old == nil {
				lo = key(nv)
			}
		}
		f.scan(old, nv, lo, hi)
	}
	if f.mono && nv != nil {
		f.dropFailing(nv)
	}
	return nil
}

// dropFailing removes the left rows that fail against nv from the front
// of the tree (monotonic > and >=: they never pass again).
func (f *DynamicFilter) dropFailing(nv types.Datum) {
	var gone []string
	for it := f.tree.seek(""); it.node() != nil; it.next() {
		x := it.node()
		if f.passes(x.vals[f.col], nv) {
			break
		}
		gone = append(gone, x.key)
	}
	for _, k := range gone {
		f.tree.remove(k)
	}
}

// scan visits the non-NULL left rows whose column key lies in [lo, hi]
// ("" for an open end) and emits those whose verdict changed from old to
// nv.
func (f *DynamicFilter) scan(old, nv types.Datum, lo, hi string) {
	for it := f.tree.seek(lo); it.node() != nil; it.next() {
		x := it.node()
		p := x.prefix()
		if hi != "" && p > hi {
			break
		}
		x0 := x.vals[f.col]
		if x0 == nil {
			break // NULL keys sort last and never pass
		}
		a, b := f.passes(x0, old), f.passes(x0, nv)
		switch {
		case a && !b:
			f.em.rows(Delete, x.cnt, x.vals)
		case b && !a:
			f.em.rows(Insert, x.cnt, x.vals)
		}
	}
}

// Close implements Executor.
func (f *DynamicFilter) Close() error {
	f.q.release()
	f.em.release()
	f.tree = newOrdTreeAcct(&f.bytes)
	f.right = map[string]*dfRight{}
	f.bytes = 0
	f.charge.release()
	return f.al.close()
}
