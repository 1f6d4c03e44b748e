package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec"
	"github.com/sabotsql/sabotsql/exec/stream"
	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/storage/memtable"
	"github.com/sabotsql/sabotsql/storage/state"
)

// tableReader implements exec.TableReader over the engine's table stores.
// extra maps synthetic table ids to in-memory batches (RETURNING); views
// maps materialized views to the snapshots the statement pinned
// (attachViewReads).
type tableReader struct {
	e     *Engine
	extra map[catalog.ObjectID][]arrow.RecordBatch
	// views are released by release, after the statement's operators
	// (their scans) are closed.
	views map[catalog.ObjectID]*stream.ViewSnapshot
}

// release unpins the statement's view snapshots. Call it once the
// operators reading them are closed; it is idempotent.
func (r *tableReader) release() {
	for id, s := range r.views {
		s.Release()
		delete(r.views, id)
	}
}

func (r *tableReader) ScanTable(ctx context.Context, t *catalog.Table, cols []int, rowID bool) (exec.Operator, error) {
	if bs, ok := r.extra[t.ID]; ok {
		return &batchScan{batches: bs, cols: cols}, nil
	}
	if s, ok := r.views[t.ID]; ok {
		if rowID {
			return nil, pgerror.Internal("materialized view %q scanned with row ids", t.Name)
		}
		// Pages of the pinned view, projected to cols.
		return &viewScan{ViewReader: s.Scan(cols), name: t.Name}, nil
	}
	ts := r.e.table(t.ID)
	if ts == nil {
		return nil, pgerror.New(pgerror.UndefinedTable, "relation %q does not exist", t.Name)
	}
	return &tableScan{snap: ts.store.Snapshot(), cols: cols, rowID: rowID, mem: r.e.mem}, nil
}

// tableScan emits a snapshot's chunks.
type tableScan struct {
	snap  *memtable.Snapshot
	cols  []int
	rowID bool
	mem   memory.Allocator
	i     int
	cur   arrow.RecordBatch
	ctx   context.Context
}

func (s *tableScan) Init(ctx context.Context) error { s.ctx = ctx; return nil }

func (s *tableScan) Next() (arrow.RecordBatch, error) {
	if s.cur != nil {
		s.cur.Release()
		s.cur = nil
	}
	for s.snap != nil && s.i < s.snap.NumChunks() {
		if err := s.ctx.Err(); err != nil {
			return nil, pgerror.Wrap(err, pgerror.QueryCanceled, "canceling statement due to user request")
		}
		b, ok := s.snap.Chunk(s.i, s.cols, s.rowID, s.mem)
		s.i++
		if ok && b.NumRows() > 0 {
			s.cur = b
			return b, nil
		}
		if ok {
			b.Release()
		}
	}
	return nil, nil
}

func (s *tableScan) Close() error {
	if s.cur != nil {
		s.cur.Release()
		s.cur = nil
	}
	if s.snap != nil {
		s.snap.Release()
		s.snap = nil
	}
	return nil
}

// batchScan emits given batches (projected).
type batchScan struct {
	batches []arrow.RecordBatch
	cols    []int
	i       int
	cur     arrow.RecordBatch
}

func (s *batchScan) Init(context.Context) error { return nil }

func (s *batchScan) Next() (arrow.RecordBatch, error) {
	if s.cur != nil {
		s.cur.Release()
		s.cur = nil
	}
	for s.i < len(s.batches) {
		b := s.batches[s.i]
		s.i++
		if b.NumRows() == 0 {
			continue
		}
		arrs := make([]arrow.Array, len(s.cols))
		fields := make([]arrow.Field, len(s.cols))
		for k, c := range s.cols {
			arrs[k] = b.Column(c)
			fields[k] = b.Schema().Field(c)
		}
		s.cur = newBatch(fields, arrs, b.NumRows())
		return s.cur, nil
	}
	return nil, nil
}

func (s *batchScan) Close() error {
	if s.cur != nil {
		s.cur.Release()
		s.cur = nil
	}
	return nil
}

// viewScan is a view's streaming scan; a view dropped while it is read
// ends the scan with SQLSTATE 55006 (its state table is closed under it).
type viewScan struct {
	*stream.ViewReader
	name string
}

func (v *viewScan) Next() (arrow.RecordBatch, error) {
	b, err := v.ViewReader.Next()
	if err != nil && errors.Is(err, state.ErrClosed) {
		err = pgerror.Wrap(err, pgerror.ObjectInUse, fmt.Sprintf("materialized view %q was dropped while it was read", v.name))
	}
	return b, err
}
