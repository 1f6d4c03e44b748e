package stream

import (
	"context"
	"errors"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Rank functions of GroupTopN.
const (
	rankRowNumber = iota
	rankRank
	rankDense
)

// GroupTopN maintains the rows of each partition whose rank under order
// is at most limit (the plan of `WHERE rn <= k` over a row_number(), rank()
// or dense_rank() window). Each partition keeps an order-statistic treap
// of its distinct rows (order key, then whole-row key, with a count) and
// records on every node the rank and number of copies last emitted. At a
// barrier, each partition changed in the epoch is walked from its first
// row through the last row that is kept now or was kept before; nodes
// whose kept copies or rank changed emit the difference: update pairs when
// a kept row's rank changed, plain Inserts/Deletes for rows crossing the
// limit. The walk never goes past the kept region, so its cost is the
// number of kept rows of the changed partitions, not the partition size.
// Watermarks pass through unchanged.
type GroupTopN struct {
	input     Executor
	inTypes   []types.T
	partition []int
	order     []SortCol
	fn        int
	limit     int64
	emitRank  bool
	schema    *arrow.Schema

	parts map[string]*gtPart
	dirty []*gtPart
	kbuf  []byte
	em    *rowEmitter
	q     opQueue

	bytes  int64 // the partitions' tree entries (ordTree.bytes) and partitions
	charge memCharge

	spill *partSpill // nil: no spilling (WithSpill)
	rows  [][]types.Datum
	pkeys []string
}

// gtPartBytes is a partition beyond its key: the gtPart, its empty tree
// and its map entry.
const gtPartBytes = 96 + 120 + mapEntryBytes + stringBytes + ptrBytes

// WithMemBudget makes GroupTopN charge its state (every distinct input row,
// boxed, in its partition's tree, and the partitions) to b after every
// chunk and barrier, failing with SQLSTATE 53200 from Next when b refuses.
// Close releases it all. nil (the default) means unlimited.
func (g *GroupTopN) WithMemBudget(b MemBudget) *GroupTopN {
	g.charge = memCharge{budget: b, what: "grouped top-N"}
	return g
}

// StateBytes is the operator's current estimate of the memory its state
// holds.
func (g *GroupTopN) StateBytes() int64 {
	n := g.bytes + int64(cap(g.dirty))*ptrBytes
	if g.spill != nil {
		n += g.spill.bytes()
	}
	return n
}

type gtPart struct {
	key   string
	tree  *ordTree
	dirty []*otNode
	hasHi bool
	hi    string // key of the last node with output

	stored  bool // the spill table holds a copy of the partition
	changed bool // changed since it was last written (or loaded)
}

// NewGroupTopN ranks the rows of each partition (equal values of the
// partition columns, NULLs equal) by order with rankFn ("row_number",
// "rank" or "dense_rank") and keeps rows with rank <= limit. Output = input
// columns, then an int8 column named after rankFn when emitRank is true.
// For row_number, ties are broken by the remaining columns.
func NewGroupTopN(input Executor, inTypes []types.T, partition []int, order []SortCol, rankFn string, limit int64, emitRank bool) (*GroupTopN, error) {
	s := input.Schema()
	if s.NumFields() != len(inTypes) {
		return nil, pgerror.Internal("stream: group topn input has %d fields and %d types", s.NumFields(), len(inTypes))
	}
	if err := checkSortCols(order, len(inTypes)); err != nil {
		return nil, err
	}
	for _, c := range partition {
		if c < 0 || c >= len(inTypes) {
			return nil, pgerror.Internal("stream: partition column %d out of range", c)
		}
	}
	fn, ok := map[string]int{"row_number": rankRowNumber, "rank": rankRank, "dense_rank": rankDense}[rankFn]
	if !ok {
		return nil, pgerror.Unsupported("ranking function %s in a streaming top-N", rankFn)
	}
	g := &GroupTopN{input: input, inTypes: inTypes, partition: partition, order: order, fn: fn,
		limit: limit, emitRank: emitRank, parts: map[string]*gtPart{}}
	outTypes := inTypes
	g.schema = s
	if emitRank {
		fields := append(append([]arrow.Field(nil), s.Fields()...), types.ArrowField(rankFn, types.Int8T))
		g.schema = arrow.NewSchema(fields, nil)
		outTypes = append(append([]types.T(nil), inTypes...), types.Int8T)
	}
	g.em = newRowEmitter(g.schema, outTypes, memory.DefaultAllocator)
	return g, nil
}

// WithAllocator makes the operator allocate its output with mem (before use).
func (g *GroupTopN) WithAllocator(mem memory.Allocator) *GroupTopN {
	g.em.mem = mem
	return g
}

// Schema implements Executor.
func (g *GroupTopN) Schema() *arrow.Schema { return g.schema }

// Partitions is the number of partitions with rows.
func (g *GroupTopN) Partitions() int { return len(g.parts) }

// Next implements Executor.
func (g *GroupTopN) Next(ctx context.Context) (Message, error) {
	if g.spill != nil {
		if err := g.spillStart(ctx); err != nil {
			return nil, err
		}
	}
	for {
		if m, ok := g.q.pop(); ok {
			return m, nil
		}
		m, err := g.input.Next(ctx)
		if err != nil || m == nil {
			return m, err
		}
		switch m := m.(type) {
		case *Chunk:
			err := g.apply(ctx, m)
			m.Release()
			if err == nil && g.spilling() {
				err = g.midEpoch(ctx)
			}
			if err == nil {
				err = g.charge.set(g.StateBytes())
			}
			if err != nil {
				return nil, err
			}
		case Barrier:
			g.flushDirty()
			if g.spilling() {
				if err := g.afterBarrier(ctx, m.Epoch); err != nil {
					return nil, err
				}
			}
			if err := g.charge.set(g.StateBytes()); err != nil {
				return nil, err
			}
			g.q.push(g.em.take()...)
			g.q.push(m)
		default:
			return m, nil
		}
	}
}

// flushDirty re-ranks the partitions changed since the last flush and
// emits their changes.
func (g *GroupTopN) flushDirty() {
	for _, p := range g.dirty {
		g.flushPart(p)
	}
	clear(g.dirty)
	g.dirty = g.dirty[:0]
}

func (g *GroupTopN) apply(ctx context.Context, c *Chunk) error {
	if g.spilling() {
		// Box the rows and key them first, so the chunk's partitions that
		// are not in memory load in one lookup.
		g.rows, g.pkeys = g.rows[:0], g.pkeys[:0]
		for i := range c.Ops {
			vals := boxRow(c.Batch, i, g.inTypes)
			g.kbuf = appendColsIdentity(g.kbuf[:0], vals, g.inTypes, g.partition)
			g.rows = append(g.rows, vals)
			g.pkeys = append(g.pkeys, string(g.kbuf))
		}
		if err := g.loadSpilled(ctx, g.pkeys); err != nil {
			return err
		}
	}
	for i, op := range c.Ops {
		var vals []types.Datum
		var p *gtPart
		if g.spilling() {
			vals = g.rows[i]
			g.kbuf = append(g.kbuf[:0], g.pkeys[i]...)
		} else {
			vals = boxRow(c.Batch, i, g.inTypes)
			g.kbuf = appendColsIdentity(g.kbuf[:0], vals, g.inTypes, g.partition)
		}
		p = g.parts[string(g.kbuf)]
		if p == nil {
			p = &gtPart{key: string(g.kbuf), tree: newOrdTreeAcct(&g.bytes)}
			g.parts[p.key] = p
			g.bytes += gtPartBytes + int64(len(p.key))
		}
		p.changed = true
		g.kbuf = appendOrderKey(g.kbuf[:0], vals, g.inTypes, g.order)
		plen := len(g.kbuf)
		g.kbuf = appendExactRowIdentity(g.kbuf, vals, g.inTypes)
		n, err := p.tree.add(string(g.kbuf), plen, vals, op.Sign())
		if err != nil {
			return err
		}
		if !n.dirty {
			n.dirty = true
			if len(p.dirty) == 0 {
				g.dirty = append(g.dirty, p)
			}
			p.dirty = append(p.dirty, n)
		}
	}
	clear(g.rows)
	return nil
}

// flushPart re-ranks the kept region of p and emits what changed.
func (g *GroupTopN) flushPart(p *gtPart) {
	var pos, dense, groupRank int64
	prev, havePrev := "", false
	newHi, saw := "", false
	for it := p.tree.first(); it.node() != nil; it.next() {
		x := it.node()
		var r, n int64
		if x.cnt > 0 {
			if !havePrev || x.prefix() != prev {
				groupRank = pos + 1
				dense++
				prev, havePrev = x.prefix(), true
			}
			switch g.fn {
			case rankRowNumber:
				r, n = pos+1, min(max(g.limit-pos, 0), x.cnt)
			case rankRank:
				r = groupRank
				if r <= g.limit {
					n = x.cnt
				}
			default:
				r = dense
				if r <= g.limit {
					n = x.cnt
				}
			}
			if n == 0 && (!p.hasHi || x.key > p.hi) {
				// Ranks only grow from here and nothing later was emitted.
				break
			}
			pos += x.cnt
		}
		g.emitNode(x, r, n)
		if n > 0 {
			newHi, saw = x.key, true
		}
	}
	p.hi, p.hasHi = newHi, saw
	for _, x := range p.dirty {
		x.dirty = false
		if x.cnt == 0 {
			g.emitNode(x, 0, 0) // a guard: the walk already retracted it
			p.tree.remove(x.key)
		}
	}
	clear(p.dirty)
	p.dirty = p.dirty[:0]
	if p.tree.size == 0 {
		if p.stored && g.spilling() {
			g.spill.pending = append(g.spill.pending, []byte(p.key))
		}
		delete(g.parts, p.key)
		g.bytes -= gtPartBytes + int64(len(p.key))
	}
}

// emitNode moves x's output from (outRank, outN) to (r, n).
func (g *GroupTopN) emitNode(x *otNode, r, n int64) {
	r0, n0 := x.outRank, x.outN
	x.outRank, x.outN = r, n
	switch {
	case !g.emitRank:
		g.em.diff(n-n0, x.vals)
	case g.fn == rankRowNumber:
		// Copies carry ranks [r0, r0+n0) before and [r, r+n) after.
		var gone, come []int64
		for k := r0; k < r0+n0; k++ {
			if k < r || k >= r+n {
				gone = append(gone, k)
			}
		}
		for k := r; k < r+n; k++ {
			if k < r0 || k >= r0+n0 {
				come = append(come, k)
			}
		}
		g.pairs(x.vals, gone, come)
	case r0 == r:
		g.em.diff(n-n0, x.vals, r)
	case n0 == 0 || n == 0:
		g.em.diff(-n0, x.vals, r0)
		g.em.diff(n, x.vals, r)
	default:
		k := min(n0, n)
		for ; k > 0; k-- {
			g.em.row(UpdateDelete, x.vals, r0)
			g.em.row(UpdateInsert, x.vals, r)
		}
		g.em.diff(min(n-n0, 0), x.vals, r0)
		g.em.diff(max(n-n0, 0), x.vals, r)
	}
}

// pairs emits update pairs for row vals moving from ranks gone to ranks
// come, then plain Deletes/Inserts for the unmatched ones.
func (g *GroupTopN) pairs(vals []types.Datum, gone, come []int64) {
	k := min(len(gone), len(come))
	for i := 0; i < k; i++ {
		g.em.row(UpdateDelete, vals, gone[i])
		g.em.row(UpdateInsert, vals, come[i])
	}
	for _, rk := range gone[k:] {
		g.em.row(Delete, vals, rk)
	}
	for _, rk := range come[k:] {
		g.em.row(Insert, vals, rk)
	}
}

// Close implements Executor.
func (g *GroupTopN) Close() error {
	g.q.release()
	g.em.release()
	g.parts = map[string]*gtPart{}
	g.dirty = nil
	g.bytes = 0
	g.charge.release()
	g.rows, g.pkeys = nil, nil
	return errors.Join(g.closeSpill(), g.input.Close())
}
