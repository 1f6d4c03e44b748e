package stream

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

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
