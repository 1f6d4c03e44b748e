package stream

import (
	"context"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/storage/state"
)

// RemoveChangelog stops injecting barriers into l (its table was dropped).
func (c *Coordinator) RemoveChangelog(l *Changelog) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.logs {
		if x == l {
			c.logs = append(c.logs[:i], c.logs[i+1:]...)
			return
		}
	}
}

// ViewSnapshot is one view pinned at an epoch by PinViews.
type ViewSnapshot struct {
	m    *Materialize
	snap state.Snapshot
}

// Read returns the pinned rows (bag-mode rows repeated by their count);
// the caller releases the batches.
func (v *ViewSnapshot) Read(ctx context.Context) ([]arrow.RecordBatch, error) {
	return v.m.scan(ctx, v.snap)
}

// Release unpins the snapshot.
func (v *ViewSnapshot) Release() { v.snap.Release() }

// PinViews pins every view at the committed epoch — one consistent cut —
// and returns the epoch and the snapshots (in the order of views).
func (c *Coordinator) PinViews(views ...*Materialize) (uint64, []*ViewSnapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.committedLocked()
	out := make([]*ViewSnapshot, 0, len(views))
	for _, v := range views {
		s, err := v.snapshot(e)
		if err != nil {
			for _, o := range out {
				o.Release()
			}
			return 0, nil, err
		}
		out = append(out, &ViewSnapshot{m: v, snap: s})
	}
	return e, out, nil
}

// Tee copies every message of its input into a changelog (the output log of
// a materialized view that other views read) and passes it on.
type Tee struct {
	input Executor
	log   *Changelog
}

// NewTee returns a Tee of input into log (which must have input's schema).
func NewTee(input Executor, log *Changelog) *Tee { return &Tee{input: input, log: log} }

// Schema implements Executor.
func (t *Tee) Schema() *arrow.Schema { return t.input.Schema() }

// Next implements Executor.
func (t *Tee) Next(ctx context.Context) (Message, error) {
	m, err := t.input.Next(ctx)
	if err != nil || m == nil {
		return m, err
	}
	switch x := m.(type) {
	case *Chunk:
		if x.NumRows() > 0 {
			c := x
			if !x.Batch.Schema().Equal(t.log.Schema()) {
				rb := array.NewRecordBatch(t.log.Schema(), x.Batch.Columns(), x.Batch.NumRows())
				defer rb.Release()
				c = &Chunk{Batch: rb, Ops: x.Ops}
			}
			err = t.log.Append(c)
		}
	case Barrier:
		err = t.log.AppendBarrier(x)
	case Watermark:
		err = t.log.AppendWatermark(x)
	}
	if err != nil {
		ReleaseMessage(m)
		return nil, err
	}
	return m, nil
}

// Close implements Executor; it closes the log too.
func (t *Tee) Close() error {
	t.log.Close()
	return t.input.Close()
}

// StateStats reports the size of the view's state table.
func (m *Materialize) StateStats() state.Stats { return m.table.Stats() }

// Prefixed emits fixed rows as inserts (a relation's contents when a view
// starts, or a constant query's result), then every message of next.
type Prefixed struct {
	schema *arrow.Schema
	rows   []arrow.RecordBatch
	next   Executor
}

// NewPrefixed returns a Prefixed; it owns rows (relabelled with schema).
func NewPrefixed(schema *arrow.Schema, rows []arrow.RecordBatch, next Executor) *Prefixed {
	return &Prefixed{schema: schema, rows: rows, next: next}
}

// Schema implements Executor.
func (p *Prefixed) Schema() *arrow.Schema { return p.schema }

// Next implements Executor.
func (p *Prefixed) Next(ctx context.Context) (Message, error) {
	for len(p.rows) > 0 {
		r := p.rows[0]
		p.rows = p.rows[1:]
		if r.NumRows() == 0 {
			r.Release()
			continue
		}
		rb := array.NewRecordBatch(p.schema, r.Columns(), r.NumRows())
		r.Release()
		return &Chunk{Batch: rb, Ops: make([]Op, rb.NumRows())}, nil
	}
	return p.next.Next(ctx)
}

// Close implements Executor.
func (p *Prefixed) Close() error {
	for _, r := range p.rows {
		r.Release()
	}
	p.rows = nil
	return p.next.Close()
}

// viewPageRows is how many stored view rows one page of a ViewReader
// holds; viewBatchRows bounds the batches it returns.
const (
	viewPageRows  = 4096
	viewBatchRows = 4096
)

// errPageFull stops a page's push scan once it holds enough rows.
var errPageFull = errors.New("stream: view page full")

// ViewReader streams a view's rows at one pinned snapshot, a page of stored
// rows at a time, so a query over a view holds one page in memory instead
// of the whole view. It satisfies exec.Operator: Init, then Next until it
// returns nil, then Close. A batch returned by Next is valid until the next
// Next or Close; the reader releases it.
//
// Paging: each page restarts the snapshot's key-ordered scan just after the
// last key of the previous page (last key + 0x00), so no goroutine or open
// iterator outlives a call. Bag-mode rows (views without a key) are
// repeated by their count lazily, at most viewBatchRows per batch, so a row
// with a huge count never expands at once. An insert-mostly view's
// cancelling rows (BagInsertMostly) are loaded before the first page and
// each hides one equal stored row as the pages pass.
//
// The reader does not own the snapshot unless it came from
// Materialize.Scan: the caller keeps the ViewSnapshot pinned while readers
// over it are open and releases it afterwards. One goroutine uses a reader;
// several readers may share a snapshot.
type ViewReader struct {
	m        *Materialize
	snap     state.Snapshot
	owned    bool // Close releases snap (ViewScan)
	cols     []int
	schema   *arrow.Schema
	pageRows int
	err      error // from construction, reported by Init

	ctx   context.Context
	start []byte // first key of the next page
	// insert-mostly views: stored rows still to skip per row value,
	// loaded before the first page
	cancel map[string]int64
	loaded bool
	done   bool // the scan reached the end
	queue  []viewPiece
	cur    arrow.RecordBatch
	pages  int
	idx    []int32
}

// viewPiece is part of a page: projected rows, and in bag mode their
// counts and how far their expansion got.
type viewPiece struct {
	b   arrow.RecordBatch
	cnt *array.Int64 // nil: keyed rows, emitted as they are
	row int
	rep int64
}

// Scan returns a streaming reader over the pinned rows, projected to the
// view's columns cols (positions in the view's schema, in output order; an
// empty list gives batches with no columns and the right row counts). The
// ViewSnapshot must stay pinned until the reader is closed.
func (v *ViewSnapshot) Scan(cols []int) *ViewReader {
	return v.m.newReader(v.snap, false, cols)
}

// Epoch is the committed epoch the snapshot is pinned at.
func (v *ViewSnapshot) Epoch() uint64 { return uint64(v.snap.Epoch()) }

// AllColumns lists every column position of the view (for Scan).
func (m *Materialize) AllColumns() []int {
	cols := make([]int, m.Schema().NumFields())
	for i := range cols {
		cols[i] = i
	}
	return cols
}

func (m *Materialize) newReader(snap state.Snapshot, owned bool, cols []int) *ViewReader {
	r := &ViewReader{m: m, snap: snap, owned: owned, cols: append([]int(nil), cols...), pageRows: viewPageRows}
	in := m.Schema()
	fs := make([]arrow.Field, len(cols))
	for i, c := range cols {
		if c < 0 || c >= in.NumFields() {
			r.err = pgerror.Internal("stream: view column %d out of range", c)
			fs = nil
			break
		}
		fs[i] = in.Field(c)
	}
	r.schema = arrow.NewSchema(fs, nil)
	return r
}

// WithPageRows sets how many stored rows a page holds (before Init; tests
// use small pages).
func (r *ViewReader) WithPageRows(n int) *ViewReader {
	if n > 0 {
		r.pageRows = n
	}
	return r
}

// Schema is the schema of the returned batches (the projected columns).
func (r *ViewReader) Schema() *arrow.Schema { return r.schema }

// Pages is the number of pages read so far.
func (r *ViewReader) Pages() int { return r.pages }

// Init prepares the scan; ctx bounds every later Next.
func (r *ViewReader) Init(ctx context.Context) error {
	if r.err != nil {
		return r.err
	}
	r.ctx = ctx
	return nil
}

// Next returns the next non-empty batch, or nil at the end.
func (r *ViewReader) Next() (arrow.RecordBatch, error) {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.ctx == nil {
		return nil, pgerror.Internal("stream: view reader used before Init or after Close")
	}
	for {
		if len(r.queue) == 0 {
			if r.done {
				return nil, nil
			}
			if err := r.fetch(); err != nil {
				return nil, err
			}
			continue
		}
		p := &r.queue[0]
		if p.cnt == nil {
			b := p.b
			r.pop()
			if b.NumRows() == 0 {
				b.Release()
				continue
			}
			r.cur = b
			return b, nil
		}
		out := r.expand(p)
		if out == nil {
			continue
		}
		r.cur = out
		return out, nil
	}
}

// pop drops the first queued piece (the caller took or released its batch).
func (r *ViewReader) pop() {
	r.queue[0] = viewPiece{}
	r.queue = r.queue[1:]
}

// expand returns up to viewBatchRows repeated rows of bag-mode piece p
// (popping it once it is exhausted), or nil when it had none left.
func (r *ViewReader) expand(p *viewPiece) arrow.RecordBatch {
	idx := r.idx[:0]
	n := p.cnt.Len()
	for p.row < n && len(idx) < viewBatchRows {
		c := p.cnt.Value(p.row)
		take := min(c-p.rep, int64(viewBatchRows-len(idx)))
		for k := int64(0); k < take; k++ {
			idx = append(idx, int32(p.row))
		}
		if take > 0 {
			p.rep += take
		}
		if p.rep >= c {
			p.row++
			p.rep = 0
		}
	}
	r.idx = idx
	var out arrow.RecordBatch
	if len(idx) > 0 {
		out = vec.TakeBatch(r.m.mem, p.b, idx)
	}
	if p.row >= n {
		p.b.Release()
		p.cnt.Release()
		r.pop()
	}
	return out
}

// fetch reads the next page into the queue.
func (r *ViewReader) fetch() error {
	if err := r.ctx.Err(); err != nil {
		return fmt.Errorf("stream: view scan: %w", err)
	}
	rows := 0
	var last []byte
	bag := r.m.keyCols == nil
	if bag && r.m.bag == BagInsertMostly && !r.loaded {
		cancel, err := r.m.loadNegatives(r.ctx, r.snap)
		if err != nil {
			return err
		}
		r.cancel, r.loaded = cancel, true
		r.start = []byte{imPos}
	}
	err := r.snap.Scan(r.ctx, state.KeyRange{Start: r.start}, func(keys [][]byte, vals arrow.RecordBatch) error {
		n := len(keys)
		if n == 0 {
			return nil
		}
		take := min(n, r.pageRows-rows)
		piece := viewPiece{}
		cols := make([]arrow.Array, len(r.cols))
		for i, c := range r.cols {
			cols[i] = vals.Column(c)
		}
		b := array.NewRecordBatch(r.schema, cols, vals.NumRows())
		if bag {
			cnt, ok := vals.Column(int(vals.NumCols()) - 1).(*array.Int64)
			if !ok {
				b.Release()
				return pgerror.New(pgerror.DataCorrupted, "stream: view count column is %s", vals.Column(int(vals.NumCols())-1).DataType())
			}
			piece.cnt = array.NewSlice(cnt, 0, int64(take)).(*array.Int64)
			if len(r.cancel) > 0 {
				// Only the rows this page takes consume cancellations.
				vs := vals.NewSlice(0, int64(take))
				adj := r.m.cancelCounts(vs, piece.cnt, r.cancel)
				vs.Release()
				piece.cnt.Release()
				piece.cnt = adj
			}
		}
		if take < n {
			s := b.NewSlice(0, int64(take))
			b.Release()
			b = s
		}
		piece.b = b
		r.queue = append(r.queue, piece)
		rows += take
		last = append(last[:0], keys[take-1]...)
		if rows >= r.pageRows {
			return errPageFull
		}
		return nil
	})
	switch {
	case err == nil:
		r.done = true
	case errors.Is(err, errPageFull):
		r.start = append(last, 0x00)
	default:
		return err
	}
	r.pages++
	return nil
}

// Close releases the reader's batches (and its snapshot when it owns
// one). It is idempotent.
func (r *ViewReader) Close() error {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	for _, p := range r.queue {
		p.b.Release()
		if p.cnt != nil {
			p.cnt.Release()
		}
	}
	r.queue = nil
	r.done = true
	r.ctx = nil
	if r.owned && r.snap != nil {
		r.snap.Release()
	}
	r.snap = nil
	return nil
}
