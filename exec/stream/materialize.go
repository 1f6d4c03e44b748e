package stream

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/keys"
)

// countField is the hidden multiplicity column of a view without a key.
const countField = "_count"

// Materialize is the sink of a view's dataflow: it applies the changelog to
// the view's state table and commits the table at every barrier, then
// reports the epoch to its Committer.
//
// With key columns (the group keys of an aggregate view) the table maps the
// key to the row: inserts put, deletes remove. Without (a view with no
// unique key) the key is the whole row and a hidden count column holds its
// multiplicity, so duplicates and their deletes are exact.
//
// How a view without a key lays out its rows is its BagMode (see there):
// counted (the default), or blind writes keyed by a row id when the input
// is append-only or insert-mostly.
//
// Next/Run are used by one goroutine; Read and the Coordinator's
// ReadViews may run concurrently from any goroutine.
type Materialize struct {
	input    Executor
	colTypes []types.T
	keyCols  []int // nil: bag mode (key = all columns, hidden count)
	table    state.Table
	enc      *keys.Encoder
	commit   Committer
	mem      memory.Allocator
	rowKey   bool // bag-mode keys are vec.AppendRowKey encodings
	bag      BagMode
	vs       *arrow.Schema // the table's value schema
	ids      rowIDs
	fixed    *viewFixed // typed writes (materialize_fixed.go); nil: none

	// Scratch reused across chunks by apply (one goroutine).
	ops      []state.Op
	bagPos   map[string]int32 // keys view the chunk's encoded keys; cleared after each chunk
	bagAcc   []bagAcc
	distinct [][]byte
	idx      []int32
	blind    blindScratch

	mu   sync.Mutex
	pins map[uint64]state.Snapshot // committed epochs kept for consistent reads
	done bool
	// inputClosed: CloseInput closed the dataflow below the view.
	inputClosed bool
}

// NewMaterialize returns a Materialize of input (columns of SQL types
// colTypes) keyed by keyCols (nil: no key, rows counted). table must have
// the value schema ValueSchema returns; nil makes a memory table. commit may
// be nil (no coordinator).
func NewMaterialize(input Executor, colTypes []types.T, keyCols []int, table state.Table, commit Committer) (*Materialize, error) {
	in := input.Schema()
	if in.NumFields() != len(colTypes) {
		return nil, pgerror.Internal("stream: materialize input has %d fields and %d types", in.NumFields(), len(colTypes))
	}
	m := &Materialize{input: input, colTypes: colTypes, keyCols: keyCols, commit: commit, mem: memory.DefaultAllocator, pins: map[uint64]state.Snapshot{}}
	kc := keyCols
	if kc == nil {
		kc = make([]int, len(colTypes))
		for i := range kc {
			kc[i] = i
		}
	}
	kts := make([]types.T, len(kc))
	for i, c := range kc {
		if c < 0 || c >= len(colTypes) {
			return nil, pgerror.Internal("stream: materialize key column %d out of range", c)
		}
		kts[i] = colTypes[c]
	}
	if len(kts) > 0 {
		enc, err := viewKeyEncoder(kts)
		switch {
		case err != nil && keyCols == nil:
			// A bag-mode row with a column the order-preserving encoding
			// lacks (interval, arrays): identify rows by their exact value
			// encoding instead (views have no order).
			m.rowKey = true
		case err != nil:
			return nil, fmt.Errorf("stream: materialize key: %w", err)
		default:
			m.enc = enc
		}
	}
	if h, ok := input.(bagModer); ok && keyCols == nil {
		m.bag = h.bagMode()
	}
	vs := m.ValueSchema()
	m.vs = vs
	if table == nil {
		t, err := state.NewMemoryTable(vs, m.mem)
		if err != nil {
			return nil, err
		}
		table = t
	} else if !table.ValueSchema().Equal(vs) {
		return nil, pgerror.Internal("stream: materialize table schema %s, want %s", table.ValueSchema(), vs)
	}
	m.table = table
	if len(keyCols) == 1 {
		m.fixed = newViewFixed(table, in.Field(keyCols[0]).Type, vs.NumFields())
	}
	return m, nil
}

// viewKeyEncoder returns the memcomparable encoder of key columns of SQL
// types ts, as keyed views (and spilled aggregate groups) store them:
// numerics by value (keys.KindNumericText), everything else natively.
func viewKeyEncoder(ts []types.T) (*keys.Encoder, error) {
	cols := make([]keys.Column, len(ts))
	for i, t := range ts {
		kind := keys.KindNative
		if t.Family == types.FamNumeric {
			kind = keys.KindNumericText
		}
		cols[i] = keys.Column{Type: types.ArrowType(t), Kind: kind}
	}
	return keys.NewEncoder(cols)
}

// WithAllocator makes the view allocate the rows it builds (bag-mode
// writes, reads) with mem (before use). The state table keeps its own.
func (m *Materialize) WithAllocator(mem memory.Allocator) *Materialize {
	m.mem = mem
	return m
}

// ValueSchema is the schema of the state table's value rows: the view's
// columns, plus the hidden count in bag mode.
func (m *Materialize) ValueSchema() *arrow.Schema {
	return MaterializeValueSchema(m.input.Schema(), m.keyCols)
}

// MaterializeValueSchema is the value schema of a Materialize over input
// rows of schema in keyed by keyCols (nil: bag mode with a hidden count), so
// a caller can open the state table before building the Materialize.
func MaterializeValueSchema(in *arrow.Schema, keyCols []int) *arrow.Schema {
	fs := make([]arrow.Field, 0, in.NumFields()+1)
	for _, f := range in.Fields() {
		f.Nullable = true
		fs = append(fs, f)
	}
	if keyCols == nil {
		fs = append(fs, arrow.Field{Name: countField, Type: arrow.PrimitiveTypes.Int64})
	}
	return arrow.NewSchema(fs, nil)
}

// Schema implements Executor (the view's columns).
func (m *Materialize) Schema() *arrow.Schema { return m.input.Schema() }

// Next implements Executor: it applies chunks and returns only barriers and
// watermarks (after committing the barrier's epoch).
func (m *Materialize) Next(ctx context.Context) (Message, error) {
	for {
		msg, err := m.input.Next(ctx)
		if err != nil || msg == nil {
			return msg, err
		}
		switch msg := msg.(type) {
		case *Chunk:
			err := m.apply(ctx, msg)
			msg.Release()
			if err != nil {
				return nil, err
			}
		case Barrier:
			if err := m.commitEpoch(ctx, msg.Epoch); err != nil {
				return nil, err
			}
			return msg, nil
		default:
			return msg, nil
		}
	}
}

// Run drives the dataflow until the input ends or ctx is done.
func (m *Materialize) Run(ctx context.Context) error {
	for {
		msg, err := m.Next(ctx)
		if err != nil {
			return err
		}
		if msg == nil {
			return nil
		}
	}
}

func (m *Materialize) keyArrays(b arrow.RecordBatch) []arrow.Array {
	if m.keyCols == nil {
		return b.Columns()
	}
	out := make([]arrow.Array, len(m.keyCols))
	for i, c := range m.keyCols {
		out[i] = b.Column(c)
	}
	return out
}

func (m *Materialize) apply(ctx context.Context, c *Chunk) error {
	if m.keyCols == nil {
		switch m.bag {
		case BagAppendOnly:
			return m.applyAppendOnly(ctx, c)
		case BagInsertMostly:
			return m.applyInsertMostly(ctx, c)
		}
	}
	if m.fixed != nil {
		if ok, err := m.applyFixed(ctx, c); ok || err != nil {
			return err
		}
	}
	var ks [][]byte
	if m.rowKey {
		cols := c.Batch.Columns()
		ks = make([][]byte, len(c.Ops))
		for i := range ks {
			ks[i] = vec.AppendRowKey(nil, cols, m.colTypes, i)
		}
	} else if m.enc == nil {
		// A view with an empty key (a global aggregate) has one row.
		ks = make([][]byte, len(c.Ops))
		for i := range ks {
			ks[i] = []byte{}
		}
	} else {
		var err error
		if ks, err = m.enc.EncodeBatch(m.keyArrays(c.Batch)); err != nil {
			return fmt.Errorf("stream: materialize key: %w", err)
		}
	}
	if m.keyCols != nil {
		return m.applyKeyed(ctx, c, ks)
	}
	// Bag mode: net delta per distinct row, added to the stored count. The
	// dedup map's keys alias ks (no copy per row) and are cleared before
	// ks goes away.
	if m.bagPos == nil {
		m.bagPos = map[string]int32{}
	}
	pos := m.bagPos
	defer clear(pos)
	order, distinct := m.bagAcc[:0], m.distinct[:0]
	defer func() {
		clear(distinct)
		m.bagAcc, m.distinct = order[:0], distinct[:0]
	}()
	for i, op := range c.Ops {
		k := vec.BytesView(ks[i])
		j, ok := pos[k]
		if !ok {
			j = int32(len(order))
			pos[k] = j
			order = append(order, bagAcc{first: int32(i)})
			distinct = append(distinct, ks[i])
		}
		order[j].delta += op.Sign()
	}
	look, err := m.table.Get(ctx, distinct)
	if err != nil {
		return err
	}
	defer look.Values.Release()
	cur, ok := look.Values.Column(int(look.Values.NumCols()) - 1).(*array.Int64)
	if !ok {
		return pgerror.Internal("stream: materialize count column is %s", look.Values.Column(int(look.Values.NumCols())-1).DataType())
	}
	ops := grow(m.ops, len(order))
	idx := grow(m.idx, len(order))
	m.ops, m.idx = ops, idx
	counts := array.NewInt64Builder(m.mem)
	defer counts.Release()
	counts.Reserve(len(order))
	for j, a := range order {
		n := a.delta
		if look.Found[j] {
			n += cur.Value(j)
		}
		idx[j] = a.first
		ops[j] = state.OpPut
		if n <= 0 {
			// n < 0 means the input deleted a row it never inserted; the
			// row stays absent.
			ops[j] = state.OpDelete
		}
		counts.UnsafeAppend(n)
	}
	rows := vec.TakeBatch(m.mem, c.Batch, idx)
	defer rows.Release()
	cnt := counts.NewArray()
	defer cnt.Release()
	vals := array.NewRecordBatch(m.vs, append(append([]arrow.Array(nil), rows.Columns()...), cnt), int64(len(order)))
	defer vals.Release()
	return m.table.Write(ctx, distinct, ops, vals)
}

// applyKeyed writes a keyed view's chunk (keys ks): inserts put, deletes
// remove. A retraction immediately followed by an addition of the same key
// (an aggregate's UpdateDelete/UpdateInsert pair for a changed group) is
// written as the put alone: the later entry for a key wins, so the delete
// would be overwritten anyway. A pair whose key changes keeps its delete.
func (m *Materialize) applyKeyed(ctx context.Context, c *Chunk, ks [][]byte) error {
	n := len(c.Ops)
	pairs := 0
	for i := 0; i+1 < n; i++ {
		if c.Ops[i].Sign() < 0 && c.Ops[i+1].Sign() > 0 && bytes.Equal(ks[i], ks[i+1]) {
			pairs++
			i++
		}
	}
	ops := grow(m.ops, n-pairs)
	m.ops = ops
	if pairs == 0 {
		for i, op := range c.Ops {
			ops[i] = state.OpPut
			if op.Sign() < 0 {
				ops[i] = state.OpDelete
			}
		}
		return m.table.Write(ctx, ks, ops, c.Batch)
	}
	idx := grow(m.idx, n-pairs)
	m.idx = idx
	// ks is this chunk's own slice (freshly encoded): compact it in place.
	out := 0
	for i := 0; i < n; i++ {
		op := c.Ops[i]
		if op.Sign() < 0 && i+1 < n && c.Ops[i+1].Sign() > 0 && bytes.Equal(ks[i], ks[i+1]) {
			i++
			op = c.Ops[i]
		}
		ops[out] = state.OpPut
		if op.Sign() < 0 {
			ops[out] = state.OpDelete
		}
		ks[out], idx[out] = ks[i], int32(i)
		out++
	}
	rows := vec.TakeBatch(m.mem, c.Batch, idx)
	defer rows.Release()
	return m.table.Write(ctx, ks[:out], ops, rows)
}

// bagAcc is one distinct row of a bag-mode chunk: its first row and the
// net change of its count.
type bagAcc struct {
	first int32
	delta int64
}

func (m *Materialize) commitEpoch(ctx context.Context, e uint64) error {
	if err := m.table.Commit(ctx, state.Epoch(e)); err != nil {
		return fmt.Errorf("stream: materialize commit %d: %w", e, err)
	}
	snap, err := m.table.Snapshot(state.Epoch(e))
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.pins[e] = snap
	m.mu.Unlock()
	if m.commit == nil {
		m.releasePinsBelow(e)
		return nil
	}
	m.releasePinsBelow(m.commit.CommitView(e))
	return nil
}

func (m *Materialize) releasePinsBelow(e uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for pe, s := range m.pins {
		if pe < e {
			s.Release()
			delete(m.pins, pe)
		}
	}
}

// CommittedEpoch is the last epoch this view committed.
func (m *Materialize) CommittedEpoch() uint64 { return uint64(m.table.CommittedEpoch()) }

// snapshot pins the view at committed epoch e (0: empty).
func (m *Materialize) snapshot(e uint64) (state.Snapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.done {
		return nil, state.ErrClosed
	}
	return m.table.Snapshot(state.Epoch(e))
}

// Read returns the view's rows at committed epoch e in key order (bag-mode
// rows repeated by their count). e must be the view's last committed epoch
// or one still pinned for consistent reads (≥ the Coordinator's committed
// epoch). The caller releases the batches.
func (m *Materialize) Read(ctx context.Context, e uint64) ([]arrow.RecordBatch, error) {
	s, err := m.snapshot(e)
	if err != nil {
		return nil, err
	}
	defer s.Release()
	return m.scan(ctx, s)
}

func (m *Materialize) scan(ctx context.Context, s state.Snapshot) ([]arrow.RecordBatch, error) {
	var out []arrow.RecordBatch
	schema := m.Schema()
	var cancel map[string]int64
	rng := state.KeyRange{}
	if m.keyCols == nil && m.bag == BagInsertMostly {
		var err error
		if cancel, err = m.loadNegatives(ctx, s); err != nil {
			return nil, err
		}
		rng.Start = []byte{imPos}
	}
	err := s.Scan(ctx, rng, func(_ [][]byte, vals arrow.RecordBatch) error {
		if m.keyCols != nil {
			vals.Retain()
			out = append(out, vals)
			return nil
		}
		cnt, ok := vals.Column(int(vals.NumCols()) - 1).(*array.Int64)
		if !ok {
			return pgerror.New(pgerror.DataCorrupted, "stream: view count column is %s", vals.Column(int(vals.NumCols())-1).DataType())
		}
		cnt = m.cancelCounts(vals, cnt, cancel)
		defer cnt.Release()
		var idx []int32
		for i := 0; i < cnt.Len(); i++ {
			for k := int64(0); k < cnt.Value(i); k++ {
				idx = append(idx, int32(i))
			}
		}
		rows := vec.TakeBatch(m.mem, vals, idx)
		defer rows.Release()
		out = append(out, array.NewRecordBatch(schema, rows.Columns()[:schema.NumFields()], int64(len(idx))))
		return nil
	})
	if err != nil {
		for _, b := range out {
			b.Release()
		}
		return nil, err
	}
	return out, nil
}

// Close implements Executor: it releases the pins and closes the table and
// the input.
func (m *Materialize) Close() error {
	m.mu.Lock()
	if m.done {
		m.mu.Unlock()
		return nil
	}
	m.done = true
	for e, s := range m.pins {
		s.Release()
		delete(m.pins, e)
	}
	closeInput := !m.inputClosed
	m.inputClosed = true
	m.mu.Unlock()
	if m.blind.ones != nil {
		m.blind.ones.Release()
		m.blind.ones = nil
	}
	var err error
	if closeInput {
		err = m.input.Close()
	}
	if cerr := m.table.Close(); err == nil {
		err = cerr
	}
	return err
}

// CloseInput closes the dataflow below the view (its operators, their
// state and spill tables) and keeps the view's own table: a view whose
// dataflow failed gives its operators' memory back at once, while its
// contents and sizes stay until Close. Call it only once the dataflow has
// stopped (nothing calls Next or Run any more); Close then skips the input.
func (m *Materialize) CloseInput() error {
	m.mu.Lock()
	if m.inputClosed {
		m.mu.Unlock()
		return nil
	}
	m.inputClosed = true
	m.mu.Unlock()
	return m.input.Close()
}

// ReadViews reads every view at the Coordinator's committed epoch — one
// consistent cut across views — and returns the epoch and each view's rows.
func (c *Coordinator) ReadViews(ctx context.Context, views ...*Materialize) (uint64, [][]arrow.RecordBatch, error) {
	c.mu.Lock()
	e := c.committedLocked()
	snaps := make([]state.Snapshot, 0, len(views))
	var err error
	for _, v := range views {
		var s state.Snapshot
		if s, err = v.snapshot(e); err != nil {
			break
		}
		snaps = append(snaps, s)
	}
	c.mu.Unlock()
	defer func() {
		for _, s := range snaps {
			s.Release()
		}
	}()
	if err != nil {
		return 0, nil, err
	}
	out := make([][]arrow.RecordBatch, len(views))
	for i, v := range views {
		if out[i], err = v.scan(ctx, snaps[i]); err != nil {
			for _, bs := range out[:i] {
				for _, b := range bs {
					b.Release()
				}
			}
			return 0, nil, err
		}
	}
	return e, out, nil
}

// ViewScan is a batch operator over a view's rows at one committed epoch;
// it satisfies exec.Operator (Init, then Next until nil, Close). It pins
// the epoch at Init, streams the rows a page at a time (see ViewReader) and
// unpins at Close. A returned batch is valid until the next Next or Close.
type ViewScan struct {
	m     *Materialize
	epoch uint64
	r     *ViewReader
}

// Scan returns a batch operator over the view at committed epoch e (see
// Read for which epochs are readable), with all the view's columns.
func (m *Materialize) Scan(e uint64) *ViewScan { return &ViewScan{m: m, epoch: e} }

// Init pins the snapshot.
func (s *ViewScan) Init(ctx context.Context) error {
	if s.r != nil {
		return pgerror.Internal("stream: view scan initialized twice")
	}
	snap, err := s.m.snapshot(s.epoch)
	if err != nil {
		return err
	}
	s.r = s.m.newReader(snap, true, s.m.AllColumns())
	return s.r.Init(ctx)
}

// Next returns the next non-empty batch, or nil at the end.
func (s *ViewScan) Next() (arrow.RecordBatch, error) {
	if s.r == nil {
		return nil, nil
	}
	return s.r.Next()
}

// Close releases the batches and the snapshot. It is idempotent.
func (s *ViewScan) Close() error {
	if s.r == nil {
		return nil
	}
	return s.r.Close()
}
