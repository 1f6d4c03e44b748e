package stream

import (
	"context"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// TopN maintains ORDER BY … LIMIT/OFFSET [WITH TIES] over a changelog.
//
// Every distinct input row lives in an order-statistic treap keyed by its
// order key followed by its whole-row key (so ties are broken by the
// remaining columns and duplicates are one node with a count). The rows
// emitted so far are recorded on the nodes (outN). At a barrier that
// closes an epoch with changes, TopN walks only the part of the tree that
// can have changed window membership: from the smaller of the first
// changed key and the window start (never before the first changed key,
// since rows before it keep their positions) to the end of the old and the
// new window, and emits the difference per node as Inserts and Deletes.
// Watermarks pass through unchanged.
type TopN struct {
	input    Executor
	inTypes  []types.T
	order    []SortCol
	limit    int64 // < 0: no limit
	offset   int64
	withTies bool
	schema   *arrow.Schema

	tree     *ordTree
	dirty    []*otNode
	minDirty string
	maxDirty string
	delta    int64  // net change of the live copies in the epoch
	hasWin   bool   // the emitted window is non-empty
	lo, hi   string // keys of its first and last node
	kbuf     []byte
	em       *rowEmitter
	q        opQueue

	bytes  int64 // the tree's entries (ordTree.bytes)
	charge memCharge
}

// NewTopN keeps the rows ranked [offset, offset+limit) under order (ties
// broken by the remaining columns so output is deterministic as a
// multiset; with withTies, all rows tied with the last one are kept, as
// FETCH … WITH TIES). A negative limit means no limit.
func NewTopN(input Executor, inTypes []types.T, order []SortCol, limit, offset int64, withTies bool) (*TopN, error) {
	s := input.Schema()
	if s.NumFields() != len(inTypes) {
		return nil, pgerror.Internal("stream: topn input has %d fields and %d types", s.NumFields(), len(inTypes))
	}
	if err := checkSortCols(order, len(inTypes)); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, pgerror.New(pgerror.InvalidRowCountInOffset, "OFFSET must not be negative")
	}
	t := &TopN{input: input, inTypes: inTypes, order: order, limit: limit, offset: offset, withTies: withTies,
		schema: s, em: newRowEmitter(s, inTypes, memory.DefaultAllocator)}
	t.tree = newOrdTreeAcct(&t.bytes)
	return t, nil
}

// WithMemBudget makes TopN charge its state (every distinct input row,
// boxed, in the tree) to b after every chunk and barrier, failing with
// SQLSTATE 53200 from Next when b refuses. Close releases it all. nil (the
// default) means unlimited.
func (t *TopN) WithMemBudget(b MemBudget) *TopN {
	t.charge = memCharge{budget: b, what: "top-N"}
	return t
}

// StateBytes is the operator's current estimate of the memory its state
// holds.
func (t *TopN) StateBytes() int64 {
	return t.bytes + int64(cap(t.dirty))*ptrBytes + int64(len(t.lo)+len(t.hi)+len(t.minDirty)+len(t.maxDirty))
}

// WithAllocator makes the operator allocate its output with mem (before use).
func (t *TopN) WithAllocator(mem memory.Allocator) *TopN {
	t.em.mem = mem
	return t
}

// Schema implements Executor.
func (t *TopN) Schema() *arrow.Schema { return t.schema }

// Next implements Executor.
func (t *TopN) Next(ctx context.Context) (Message, error) {
	for {
		if m, ok := t.q.pop(); ok {
			return m, nil
		}
		m, err := t.input.Next(ctx)
		if err != nil || m == nil {
			return m, err
		}
		switch m := m.(type) {
		case *Chunk:
			err := t.apply(m)
			m.Release()
			if err == nil {
				err = t.charge.set(t.StateBytes())
			}
			if err != nil {
				return nil, err
			}
		case Barrier:
			t.flush()
			if err := t.charge.set(t.StateBytes()); err != nil {
				return nil, err
			}
			t.q.push(t.em.take()...)
			t.q.push(m)
		default:
			return m, nil
		}
	}
}

func (t *TopN) apply(c *Chunk) error {
	for i, op := range c.Ops {
		vals := boxRow(c.Batch, i, t.inTypes)
		t.kbuf = appendOrderKey(t.kbuf[:0], vals, t.inTypes, t.order)
		plen := len(t.kbuf)
		t.kbuf = appendExactRowIdentity(t.kbuf, vals, t.inTypes)
		key := string(t.kbuf)
		n, err := t.tree.add(key, plen, vals, op.Sign())
		if err != nil {
			return err
		}
		t.delta += op.Sign()
		if !n.dirty {
			n.dirty = true
			if len(t.dirty) == 0 || key < t.minDirty {
				t.minDirty = key
			}
			if len(t.dirty) == 0 || key > t.maxDirty {
				t.maxDirty = key
			}
			t.dirty = append(t.dirty, n)
		}
	}
	return nil
}

// flush emits the epoch's window changes into t.em.
func (t *TopN) flush() {
	if len(t.dirty) == 0 {
		return
	}
	total := t.tree.total()
	end := int64(math.MaxInt64)
	if t.limit >= 0 && t.offset <= math.MaxInt64-t.limit {
		end = t.offset + t.limit
	}
	var start, last *otNode
	if t.limit != 0 && t.offset < total {
		start, _ = t.tree.at(t.offset)
		if t.withTies {
			last, _ = t.tree.at(min(end, total) - 1)
		}
	}
	if start != nil || t.hasWin {
		begin := t.minDirty
		lowest := ""
		switch {
		case start != nil && t.hasWin:
			lowest = min(start.key, t.lo)
		case start != nil:
			lowest = start.key
		default:
			lowest = t.lo
		}
		begin = max(begin, lowest)
		pos := t.tree.countBefore(begin)
		newHi, saw := "", false
		for it := t.tree.seek(begin); it.node() != nil; it.next() {
			x := it.node()
			inTie := last != nil && x.key >= last.key && x.prefix() == last.prefix()
			if pos >= end && !inTie && (!t.hasWin || x.key > t.hi) {
				break
			}
			if t.limit < 0 && x.key > t.maxDirty && pos >= t.offset && pos-t.delta >= t.offset {
				// Past the last change every node moved by delta; without
				// a limit, nodes past the offset before and after keep
				// their output.
				break
			}
			var n int64
			if x.cnt > 0 {
				a, b := max(pos, t.offset), min(pos+x.cnt, end)
				if inTie {
					b = pos + x.cnt
				}
				n = max(b-a, 0)
			}
			t.em.diff(n-x.outN, x.vals)
			x.outN = n
			if n > 0 {
				newHi, saw = x.key, true
			}
			pos += x.cnt
		}
		if start == nil {
			t.hasWin = false
		} else {
			t.lo = start.key
			if saw {
				t.hi = newHi
			}
			t.hasWin = true
		}
	}
	for _, x := range t.dirty {
		x.dirty = false
		if x.cnt == 0 {
			// The walk retracted it if it was in the window; this is only
			// a guard.
			t.em.diff(-x.outN, x.vals)
			t.tree.remove(x.key)
		}
	}
	clear(t.dirty)
	t.dirty = t.dirty[:0]
	t.delta = 0
}

// Close implements Executor.
func (t *TopN) Close() error {
	t.q.release()
	t.em.release()
	t.tree.dropAll()
	t.tree = newOrdTreeAcct(&t.bytes)
	t.dirty = nil
	t.charge.release()
	return t.input.Close()
}
