package stream

import (
	"encoding/binary"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// This file holds the helpers shared by TopN, GroupTopN, SetOp,
// DynamicFilter and OverWindow: an order-statistic treap over
// memcomparable row keys, the order-key encoding, a row emitter that cuts
// output chunks, and a watermark merger for two-input operators.
//
// Those five operators keep their state in Go memory (rebuilt by
// replaying changelogs, like HashAggregate and HashJoin) and share these
// rules:
//  1. A row's identity is types.AppendKey of all its columns (NULLs equal,
//     numeric 1.0 = 1.00); duplicates are one entry with a count, so a
//     Delete retracts one copy. A Delete of an absent row is an internal
//     error, never a negative count.
//  2. Order keys are memcomparable (appendOrderKey): bytewise order is the
//     SQL order with DESC and NULLS FIRST/LAST applied; the whole-row key
//     follows it, so ties are ordered deterministically.
//  3. Every entry records what it last emitted; an epoch's output is the
//     difference between that and its new result, computed at the barrier
//     (DynamicFilter: left rows at once, right changes at the barrier) and
//     queued before the barrier. Applying the output up to barrier E gives
//     the result over the inputs' net contents at E.
//  4. Work per epoch is bounded by the entries the epoch touched plus the
//     output that changes (TopN/GroupTopN: the kept window of changed
//     partitions; OverWindow: the changed partitions; DynamicFilter: the
//     rows between the old and the new value), never a rescan of all state.

// SortCol is one ORDER BY column of an operator's input.
type SortCol struct {
	Col        int
	Desc       bool
	NullsFirst bool
}

// Sort-key markers: NULLs first < values < NULLs last. A value's bytes
// follow its marker as types.AppendKey writes them, complemented for DESC
// (the encoding is prefix-free, so complementing reverses its order).
const (
	sortNullFirst = 0x00
	sortValue     = 0x01
	sortNullLast  = 0x02
)

// appendOrderKey appends the order key of vals under order.
func appendOrderKey(buf []byte, vals []types.Datum, ts []types.T, order []SortCol) []byte {
	for _, sc := range order {
		d := vals[sc.Col]
		if d == nil {
			if sc.NullsFirst {
				buf = append(buf, sortNullFirst)
			} else {
				buf = append(buf, sortNullLast)
			}
			continue
		}
		start := len(buf)
		buf = types.AppendKey(buf, d, ts[sc.Col])
		buf[start] = sortValue
		if sc.Desc {
			for i := start + 1; i < len(buf); i++ {
				buf[i] = ^buf[i]
			}
		}
	}
	return buf
}

// appendRowIdentity appends the identity key of a whole row (equal keys mean
// equal rows in the GROUP BY sense; NULLs equal).
func appendRowIdentity(buf []byte, vals []types.Datum, ts []types.T) []byte {
	for i, d := range vals {
		buf = types.AppendKey(buf, d, ts[i])
	}
	return buf
}

// appendColsIdentity appends the identity key of columns cols of a row.
func appendColsIdentity(buf []byte, vals []types.Datum, ts []types.T, cols []int) []byte {
	for _, c := range cols {
		buf = types.AppendKey(buf, vals[c], ts[c])
	}
	return buf
}

// boxRow boxes row i of b.
func boxRow(b arrow.RecordBatch, i int, ts []types.T) []types.Datum {
	vals := make([]types.Datum, len(ts))
	for c, t := range ts {
		vals[c] = types.GetDatum(b.Column(c), i, t)
	}
	return vals
}

func checkSortCols(order []SortCol, n int) error {
	for _, sc := range order {
		if sc.Col < 0 || sc.Col >= n {
			return pgerror.Internal("stream: sort column %d out of range", sc.Col)
		}
	}
	return nil
}

// otNode is a node of ordTree: one distinct row with its multiplicity.
type otNode struct {
	key   string
	pfx   uint64 // keyPrefix(key): most comparisons stop here
	plen  int    // length of the order prefix of key (ties share it)
	vals  []types.Datum
	cnt   int64 // live copies
	sum   int64 // copies in the subtree
	prio  uint64
	l, r  *otNode
	dirty bool // touched in the current epoch

	// Output bookkeeping of the owning operator: copies emitted and, for
	// GroupTopN, the first rank they were emitted with.
	outN    int64
	outRank int64
}

func (n *otNode) prefix() string { return n.key[:n.plen] }

func nodeSum(n *otNode) int64 {
	if n == nil {
		return 0
	}
	return n.sum
}

func (n *otNode) fix() { n.sum = n.cnt + nodeSum(n.l) + nodeSum(n.r) }

// ordTree is an order-statistic treap keyed by byte strings. Nodes whose
// count dropped to 0 stay until removed (their output is retracted first).
type ordTree struct {
	root *otNode
	rng  uint64
	size int       // nodes
	path []*otNode // scratch of add
}

func newOrdTree() *ordTree { return &ordTree{rng: 0x2545f4914f6cdd1d} }

func (t *ordTree) nextPrio() uint64 {
	t.rng ^= t.rng << 13
	t.rng ^= t.rng >> 7
	t.rng ^= t.rng << 17
	return t.rng
}

// total is the number of live copies.
func (t *ordTree) total() int64 { return nodeSum(t.root) }

func (t *ordTree) get(key string) *otNode {
	pk := keyPrefix(key)
	n := t.root
	for n != nil {
		switch c := cmpNodeKey(pk, key, n); {
		case c < 0:
			n = n.l
		case c > 0:
			n = n.r
		default:
			return n
		}
	}
	return nil
}

// keyPrefix packs the first 8 bytes of a key (zero-padded) big-endian:
// unequal prefixes order keys as the keys themselves do.
func keyPrefix(key string) uint64 {
	var b [8]byte
	copy(b[:], key)
	return binary.BigEndian.Uint64(b[:])
}

// cmpNodeKey compares key (with prefix pk) with n's key.
func cmpNodeKey(pk uint64, key string, n *otNode) int {
	switch {
	case pk < n.pfx:
		return -1
	case pk > n.pfx:
		return 1
	}
	return strings.Compare(key, n.key)
}

// add changes the count of key by delta, inserting a node (with vals and
// order-prefix length plen) when absent. It returns the node, or an error
// when a count would drop below zero (a delete of an absent row).
func (t *ordTree) add(key string, plen int, vals []types.Datum, delta int64) (*otNode, error) {
	// One descent for a present key: remember the path, then fix its sums.
	path := t.path[:0]
	pk := keyPrefix(key)
	n := t.root
	for n != nil {
		path = append(path, n)
		c := cmpNodeKey(pk, key, n)
		if c == 0 {
			break
		}
		if c < 0 {
			n = n.l
		} else {
			n = n.r
		}
	}
	t.path = path
	if n == nil {
		if delta < 0 {
			return nil, pgerror.Internal("stream: delete of a row that is not present")
		}
		n = &otNode{key: key, pfx: pk, plen: plen, vals: vals, cnt: delta, prio: t.nextPrio()}
		t.root = t.insert(t.root, n)
		t.size++
		return n, nil
	}
	if n.cnt+delta < 0 {
		return nil, pgerror.Internal("stream: delete of a row that is not present")
	}
	n.cnt += delta
	for _, p := range path {
		p.sum += delta
	}
	return n, nil
}

func (t *ordTree) insert(root, n *otNode) *otNode {
	if root == nil {
		n.fix()
		return n
	}
	if n.prio > root.prio {
		n.l, n.r = t.split(root, n.pfx, n.key)
		n.fix()
		return n
	}
	if cmpNodeKey(n.pfx, n.key, root) < 0 {
		root.l = t.insert(root.l, n)
	} else {
		root.r = t.insert(root.r, n)
	}
	root.fix()
	return root
}

// split divides root into keys < key and keys ≥ key.
func (t *ordTree) split(root *otNode, pk uint64, key string) (*otNode, *otNode) {
	if root == nil {
		return nil, nil
	}
	if cmpNodeKey(pk, key, root) > 0 {
		a, b := t.split(root.r, pk, key)
		root.r = a
		root.fix()
		return root, b
	}
	a, b := t.split(root.l, pk, key)
	root.l = b
	root.fix()
	return a, root
}

func otMerge(a, b *otNode) *otNode {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	if a.prio > b.prio {
		a.r = otMerge(a.r, b)
		a.fix()
		return a
	}
	b.l = otMerge(a, b.l)
	b.fix()
	return b
}

// remove deletes the node of key (if any).
func (t *ordTree) remove(key string) {
	pk := keyPrefix(key)
	var rm func(n *otNode) *otNode
	rm = func(n *otNode) *otNode {
		if n == nil {
			return nil
		}
		switch c := cmpNodeKey(pk, key, n); {
		case c < 0:
			n.l = rm(n.l)
		case c > 0:
			n.r = rm(n.r)
		default:
			t.size--
			return otMerge(n.l, n.r)
		}
		n.fix()
		return n
	}
	t.root = rm(t.root)
}

// countBefore is the number of live copies with keys < key.
func (t *ordTree) countBefore(key string) int64 {
	var c int64
	pk := keyPrefix(key)
	n := t.root
	for n != nil {
		if cmpNodeKey(pk, key, n) > 0 {
			c += nodeSum(n.l) + n.cnt
			n = n.r
		} else {
			n = n.l
		}
	}
	return c
}

// at returns the node holding copy pos (0-based) in order and the number
// of its copies before pos, or nil when pos ≥ total.
func (t *ordTree) at(pos int64) (*otNode, int64) {
	n := t.root
	for n != nil {
		ls := nodeSum(n.l)
		switch {
		case pos < ls:
			n = n.l
		case pos < ls+n.cnt:
			return n, pos - ls
		default:
			pos -= ls + n.cnt
			n = n.r
		}
	}
	return nil, 0
}

// otIter walks an ordTree in key order. Mutating the tree invalidates it.
type otIter struct{ stack []*otNode }

// seek positions at the first node with key ≥ key.
func (t *ordTree) seek(key string) *otIter {
	it := &otIter{}
	pk := keyPrefix(key)
	for n := t.root; n != nil; {
		if cmpNodeKey(pk, key, n) <= 0 {
			it.stack = append(it.stack, n)
			n = n.l
		} else {
			n = n.r
		}
	}
	return it
}

// first positions at the smallest key.
func (t *ordTree) first() *otIter {
	it := &otIter{}
	for n := t.root; n != nil; n = n.l {
		it.stack = append(it.stack, n)
	}
	return it
}

func (it *otIter) node() *otNode {
	if len(it.stack) == 0 {
		return nil
	}
	return it.stack[len(it.stack)-1]
}

func (it *otIter) next() {
	n := it.stack[len(it.stack)-1]
	it.stack = it.stack[:len(it.stack)-1]
	for c := n.r; c != nil; c = c.l {
		it.stack = append(it.stack, c)
	}
}

// rowEmitter accumulates output rows (datums) into chunks of at most
// rowEmitterChunk rows, never splitting an update pair.
type rowEmitter struct {
	schema   *arrow.Schema
	ts       []types.T
	mem      memory.Allocator
	builders []array.Builder
	ops      []Op
	out      []Message
}

const rowEmitterChunk = 4096

func newRowEmitter(schema *arrow.Schema, ts []types.T, mem memory.Allocator) *rowEmitter {
	return &rowEmitter{schema: schema, ts: ts, mem: mem}
}

// row appends one output row; extra values follow vals (for a rank column).
func (e *rowEmitter) row(op Op, vals []types.Datum, extra ...types.Datum) {
	if e.builders == nil {
		for _, f := range e.schema.Fields() {
			e.builders = append(e.builders, array.NewBuilder(e.mem, f.Type))
		}
	}
	for i, d := range vals {
		types.AppendDatum(e.builders[i], d, e.ts[i])
	}
	for j, d := range extra {
		types.AppendDatum(e.builders[len(vals)+j], d, e.ts[len(vals)+j])
	}
	e.ops = append(e.ops, op)
	if len(e.ops) >= rowEmitterChunk && op != UpdateDelete {
		e.cut()
	}
}

// rows appends n copies of a row with op.
func (e *rowEmitter) rows(op Op, n int64, vals []types.Datum, extra ...types.Datum) {
	for ; n > 0; n-- {
		e.row(op, vals, extra...)
	}
}

// diff appends |d| inserts (d > 0) or deletes (d < 0) of a row.
func (e *rowEmitter) diff(d int64, vals []types.Datum, extra ...types.Datum) {
	if d > 0 {
		e.rows(Insert, d, vals, extra...)
	} else if d < 0 {
		e.rows(Delete, -d, vals, extra...)
	}
}

// cut turns the buffered rows into a chunk queued on out.
func (e *rowEmitter) cut() {
	if len(e.ops) == 0 {
		return
	}
	cols := make([]arrow.Array, len(e.builders))
	for i, b := range e.builders {
		cols[i] = b.NewArray()
	}
	rb := array.NewRecordBatch(e.schema, cols, int64(len(e.ops)))
	for _, a := range cols {
		a.Release()
	}
	e.out = append(e.out, &Chunk{Batch: rb, Ops: e.ops})
	e.ops = nil
}

// take returns the queued messages (after cutting the open chunk) and
// empties the opQueue.
func (e *rowEmitter) take() []Message {
	e.cut()
	out := e.out
	e.out = nil
	return out
}

func (e *rowEmitter) release() {
	for _, m := range e.out {
		ReleaseMessage(m)
	}
	e.out = nil
	for _, b := range e.builders {
		b.Release()
	}
	e.builders = nil
	e.ops = nil
}

// opQueue is a FIFO of messages waiting to be returned by Next.
type opQueue struct{ msgs []Message }

func (q *opQueue) push(ms ...Message) { q.msgs = append(q.msgs, ms...) }

func (q *opQueue) pop() (Message, bool) {
	if len(q.msgs) == 0 {
		return nil, false
	}
	m := q.msgs[0]
	q.msgs[0] = nil
	q.msgs = q.msgs[1:]
	return m, true
}

func (q *opQueue) release() {
	for _, m := range q.msgs {
		ReleaseMessage(m)
	}
	q.msgs = nil
}

// minWatermarks forwards, for a multi-input operator whose output columns are
// its inputs' columns, the minimum watermark of a column over the inputs
// once every live input reported one.
type minWatermarks struct {
	ts  []types.T
	n   int
	wms map[int][]types.Datum
}

func newMinWatermarks(ts []types.T, inputs int) *minWatermarks {
	return &minWatermarks{ts: ts, n: inputs, wms: map[int][]types.Datum{}}
}

// observe records w from input i and returns the watermark to forward.
func (m *minWatermarks) observe(i int, w Watermark, ended []bool) (Watermark, bool, error) {
	if w.Col < 0 || w.Col >= len(m.ts) {
		return Watermark{}, false, pgerror.Internal("stream: watermark column %d out of range", w.Col)
	}
	ws := m.wms[w.Col]
	if ws == nil {
		ws = make([]types.Datum, m.n)
		m.wms[w.Col] = ws
	}
	ws[i] = w.Value
	var lo types.Datum
	for j, v := range ws {
		if ended[j] {
			continue
		}
		if v == nil {
			return Watermark{}, false, nil
		}
		if lo == nil || types.Compare(v, lo, m.ts[w.Col]) < 0 {
			lo = v
		}
	}
	if lo == nil {
		return Watermark{}, false, nil
	}
	return Watermark{Col: w.Col, Value: lo}, true, nil
}
