package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/sabotsql/sabotsql/api"
	"github.com/sabotsql/sabotsql/exec"
	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/exec/stream"
	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// returningTableID is the synthetic table id RETURNING reads its rows from.
const returningTableID catalog.ObjectID = 1

func (s *Session) runDML(ctx context.Context, ast *pg_query.Node, paramTypes []types.T, params []types.Datum) (api.Result, error) {
	pl := s.newPlanner(append([]types.T(nil), paramTypes...))
	d, err := pl.PlanDML(ast)
	if err != nil {
		return api.Result{}, err
	}
	if len(pl.Params) > len(params) {
		return api.Result{}, pgerror.New(pgerror.UndefinedParameter, "there is no parameter $%d", len(params)+1)
	}
	cctx, cancel := s.stmtContext(ctx)
	defer cancel()
	ec := s.evalContext()
	if err := s.e.lockForWrite(cctx, d.Table.ID); err != nil {
		return api.Result{}, err
	}
	defer s.e.writeMu.Unlock()
	ts := s.e.table(d.Table.ID)
	if ts == nil {
		return api.Result{}, pgerror.New(pgerror.UndefinedTable, "relation %q does not exist", d.Table.Name)
	}
	denv := s.env(ec, params)
	defer denv.Tables.(*tableReader).release()
	if err := s.e.attachViewReads(cctx, denv, d.Source); err != nil {
		return api.Result{}, err
	}
	src, err := exec.Run(cctx, denv, d.Source)
	if err != nil {
		return api.Result{}, err
	}
	defer releaseAll(src)
	var n int64
	var changed []arrow.RecordBatch // rows for RETURNING (table columns)
	switch d.Kind {
	case planner.DMLInsert:
		n, changed, err = s.applyInsert(ts, src, d.OnConflictDoNothing)
	case planner.DMLUpdate:
		n, changed, err = s.applyUpdate(ts, src)
	case planner.DMLDelete:
		n, changed, err = s.applyDelete(ts, src)
	}
	if err != nil {
		return api.Result{}, err
	}
	defer releaseAll(changed)
	tag := map[planner.DMLKind]string{planner.DMLInsert: "INSERT 0 ", planner.DMLUpdate: "UPDATE ", planner.DMLDelete: "DELETE "}[d.Kind] + itoa64(n)
	if d.Returning == nil {
		return api.Result{Tag: tag}, nil
	}
	rows, err := s.returning(cctx, ec, params, d, changed)
	if err != nil {
		return api.Result{}, err
	}
	return api.Result{Rows: &staticRows{cols: outputCols(d.ReturnCols), batches: rows, tag: tag}}, nil
}

func (s *Session) returning(ctx context.Context, ec interface{}, params []types.Datum, d *planner.DML, rows []arrow.RecordBatch) ([]arrow.RecordBatch, error) {
	synth := &catalog.Table{ID: returningTableID, Name: d.Table.Name, Columns: d.Table.Columns}
	scan := &planner.Scan{Table: synth, Alias: d.Table.Name}
	for i, c := range d.Table.Columns {
		scan.Cols = append(scan.Cols, i)
		scan.Out = append(scan.Out, planner.Column{Name: c.Name, T: c.T})
	}
	out := make(planner.Schema, len(d.ReturnCols))
	for i, c := range d.ReturnCols {
		out[i] = planner.Column{Name: c.Name, T: c.T}
	}
	proj := &planner.Project{Input: scan, Exprs: d.Returning, Out: out}
	env := s.env(s.evalContext(), params)
	env.Tables = &tableReader{e: s.e, extra: map[catalog.ObjectID][]arrow.RecordBatch{returningTableID: rows}}
	return exec.Run(ctx, env, proj)
}

// withSchema re-labels a batch's columns with the table's schema.
func withSchema(ts *tableState, b arrow.RecordBatch, from int) arrow.RecordBatch {
	cols := make([]arrow.Array, ts.schema.NumFields())
	for i := range cols {
		cols[i] = b.Column(from + i)
	}
	return array.NewRecordBatch(ts.schema, cols, b.NumRows())
}

func (s *Session) checkNotNull(ts *tableState, b arrow.RecordBatch, from int) error {
	for i, c := range ts.def.Columns {
		if !c.NotNull {
			continue
		}
		arr := b.Column(from + i)
		if arr.NullN() == 0 {
			continue
		}
		for r := 0; r < arr.Len(); r++ {
			if arr.IsNull(r) {
				return pgerror.New(pgerror.NotNullViolation, "null value in column %q of relation %q violates not-null constraint", c.Name, ts.def.Name).
					WithDetail("Failing row contains (%s).", s.rowText(ts, b, from, r)).
					WithObject(ts.def.Schema, ts.def.Name, c.Name)
			}
		}
	}
	return nil
}

func (s *Session) rowText(ts *tableState, b arrow.RecordBatch, from, r int) string {
	parts := make([]string, len(ts.def.Columns))
	for i, c := range ts.def.Columns {
		d := types.GetDatum(b.Column(from+i), r, c.T)
		if d == nil {
			parts[i] = "null"
		} else {
			parts[i] = types.FormatText(&s.tctx, d, c.T)
		}
	}
	return strings.Join(parts, ", ")
}

// indexKey returns row r's key for index ix, or ok=false when a key column
// is NULL (NULLs never conflict).
func indexKey(ts *tableState, ix *indexDef, b arrow.RecordBatch, from, r int, buf []byte) ([]byte, bool) {
	cols := make([]arrow.Array, len(ix.cols))
	tys := make([]types.T, len(ix.cols))
	for k, c := range ix.cols {
		cols[k] = b.Column(from + c)
		if cols[k].IsNull(r) {
			return nil, false
		}
		tys[k] = ts.def.Columns[c].T
	}
	return vec.AppendRowKey(buf[:0], cols, tys, r), true
}

func (s *Session) uniqueViolation(ts *tableState, ix *indexDef, b arrow.RecordBatch, from, r int) error {
	names := make([]string, len(ix.cols))
	vals := make([]string, len(ix.cols))
	for k, c := range ix.cols {
		col := ts.def.Columns[c]
		names[k] = col.Name
		vals[k] = types.FormatText(&s.tctx, types.GetDatum(b.Column(from+c), r, col.T), col.T)
	}
	return pgerror.New(pgerror.UniqueViolation, "duplicate key value violates unique constraint %q", ix.name).
		WithDetail("Key (%s)=(%s) already exists.", strings.Join(names, ", "), strings.Join(vals, ", ")).
		WithObject(ts.def.Schema, ts.def.Name, "").WithConstraint(ix.name)
}

// validateUnique checks rows of bs (table columns start at from) against
// every unique index, ignoring keys in freed (being deleted by the same
// statement). With skip set, conflicting rows are recorded in skipped
// instead of failing.
func (s *Session) validateUnique(ts *tableState, bs []arrow.RecordBatch, from int, freed map[*indexDef]map[string]bool, skip bool) (map[int]map[int]bool, error) {
	skipped := map[int]map[int]bool{}
	var buf []byte
	for _, ix := range ts.indexes {
		if !ix.unique {
			continue
		}
		local := map[string]bool{}
		for bi, b := range bs {
			for r := 0; r < int(b.NumRows()); r++ {
				if skipped[bi][r] {
					continue
				}
				k, ok := indexKey(ts, ix, b, from, r, buf)
				if !ok {
					continue
				}
				key := string(k)
				_, exists := ix.keys[key]
				if exists && freed[ix][key] {
					exists = false
				}
				if exists || local[key] {
					if skip {
						if skipped[bi] == nil {
							skipped[bi] = map[int]bool{}
						}
						skipped[bi][r] = true
						continue
					}
					return nil, s.uniqueViolation(ts, ix, b, from, r)
				}
				local[key] = true
			}
		}
	}
	return skipped, nil
}

func (s *Session) addIndexEntries(ts *tableState, b arrow.RecordBatch, from int, ids []int64) {
	var buf []byte
	for _, ix := range ts.indexes {
		if !ix.unique {
			continue
		}
		for r := 0; r < int(b.NumRows()); r++ {
			if k, ok := indexKey(ts, ix, b, from, r, buf); ok {
				ix.keys[string(k)] = ids[r]
				ix.rowKeys[ids[r]] = string(k)
			}
		}
	}
}

func (s *Session) removeIndexEntries(ts *tableState, ids []int64) {
	for _, ix := range ts.indexes {
		if !ix.unique {
			continue
		}
		for _, id := range ids {
			if k, ok := ix.rowKeys[id]; ok {
				delete(ix.rowKeys, id)
				if ix.keys[k] == id {
					delete(ix.keys, k)
				}
			}
		}
	}
}

// restoreIndexEntries re-adds index entries for revived rows by reading them.
func (s *Session) restoreIndexEntries(ts *tableState, ids []int64) {
	want := map[int64]bool{}
	for _, id := range ids {
		want[id] = true
	}
	snap := ts.store.Snapshot()
	defer snap.Release()
	for c := 0; c < snap.NumChunks(); c++ {
		b, ok := snap.Chunk(c, nil, true, s.e.mem)
		if !ok {
			continue
		}
		rid := b.Column(int(b.NumCols()) - 1).(*array.Int64)
		var sel []int64
		var rows []int
		for r := 0; r < rid.Len(); r++ {
			if want[rid.Value(r)] {
				sel = append(sel, rid.Value(r))
				rows = append(rows, r)
			}
		}
		if len(sel) > 0 {
			idx := make([]int32, len(rows))
			for i, r := range rows {
				idx[i] = int32(r)
			}
			sub := vec.TakeBatch(s.e.mem, b, idx)
			s.addIndexEntries(ts, sub, 0, sel)
			sub.Release()
		}
		b.Release()
	}
}

func (s *Session) buildUniqueIndex(ts *tableState, ix *indexDef) error {
	ix.keys, ix.rowKeys = map[string]int64{}, map[int64]string{}
	snap := ts.store.Snapshot()
	defer snap.Release()
	var buf []byte
	for c := 0; c < snap.NumChunks(); c++ {
		b, ok := snap.Chunk(c, nil, true, s.e.mem)
		if !ok {
			continue
		}
		rid := b.Column(int(b.NumCols()) - 1).(*array.Int64)
		for r := 0; r < rid.Len(); r++ {
			k, ok := indexKey(ts, ix, b, 0, r, buf)
			if !ok {
				continue
			}
			if _, dup := ix.keys[string(k)]; dup {
				err := pgerror.New(pgerror.UniqueViolation, "could not create unique index %q", ix.name)
				b.Release()
				return err
			}
			ix.keys[string(k)] = rid.Value(r)
			ix.rowKeys[rid.Value(r)] = string(k)
		}
		b.Release()
	}
	return nil
}

func (s *Session) applyInsert(ts *tableState, bs []arrow.RecordBatch, doNothing bool) (int64, []arrow.RecordBatch, error) {
	for _, b := range bs {
		if err := s.checkNotNull(ts, b, 0); err != nil {
			return 0, nil, err
		}
	}
	skipped, err := s.validateUnique(ts, bs, 0, nil, doNothing)
	if err != nil {
		return 0, nil, err
	}
	var n int64
	var out []arrow.RecordBatch
	for bi, b := range bs {
		tb := withSchema(ts, b, 0)
		if sk := skipped[bi]; len(sk) > 0 {
			mb := array.NewBooleanBuilder(s.e.mem)
			for r := 0; r < int(tb.NumRows()); r++ {
				mb.Append(!sk[r])
			}
			mask := mb.NewBooleanArray()
			mb.Release()
			f := vec.FilterBatch(s.e.mem, tb, mask)
			mask.Release()
			tb.Release()
			tb = f
		}
		if tb.NumRows() == 0 {
			tb.Release()
			continue
		}
		ids, err := s.e.storeAppend(ts.store, tb)
		if err != nil {
			tb.Release()
			return n, out, pgerror.Wrap(err, pgerror.InternalError, "insert")
		}
		s.addIndexEntries(ts, tb, 0, ids)
		s.recordUndo(undoEntry{kind: undoInsert, table: ts.def.ID, rows: ids})
		s.e.publish(ts, stream.Insert, tb)
		s.e.walInsert(s, ts, tb, ids)
		n += tb.NumRows()
		out = append(out, tb)
	}
	return n, out, nil
}

func rowIDs(b arrow.RecordBatch) []int64 {
	a := b.Column(0).(*array.Int64)
	out := make([]int64, a.Len())
	copy(out, a.Int64Values())
	return out
}

func (s *Session) applyDelete(ts *tableState, bs []arrow.RecordBatch) (int64, []arrow.RecordBatch, error) {
	var n int64
	var out []arrow.RecordBatch
	for _, b := range bs {
		ids := rowIDs(b)
		s.removeIndexEntries(ts, ids)
		ts.store.Delete(ids)
		s.recordUndo(undoEntry{kind: undoDelete, table: ts.def.ID, rows: ids})
		s.e.walDelete(s, ts, ids)
		n += int64(len(ids))
		old := withSchema(ts, b, 1)
		s.e.publish(ts, stream.Delete, old)
		out = append(out, old)
	}
	return n, out, nil
}

func (s *Session) applyUpdate(ts *tableState, bs []arrow.RecordBatch) (int64, []arrow.RecordBatch, error) {
	for _, b := range bs {
		if err := s.checkNotNull(ts, b, 1); err != nil {
			return 0, nil, err
		}
	}
	freed := map[*indexDef]map[string]bool{}
	for _, ix := range ts.indexes {
		if !ix.unique {
			continue
		}
		m := map[string]bool{}
		for _, b := range bs {
			for _, id := range rowIDs(b) {
				if k, ok := ix.rowKeys[id]; ok {
					m[k] = true
				}
			}
		}
		freed[ix] = m
	}
	if _, err := s.validateUnique(ts, bs, 1, freed, false); err != nil {
		return 0, nil, err
	}
	var n int64
	var out []arrow.RecordBatch
	for _, b := range bs {
		ids := rowIDs(b)
		s.e.publishIDs(ts, stream.Delete, ids)
		s.removeIndexEntries(ts, ids)
		ts.store.Delete(ids)
		s.recordUndo(undoEntry{kind: undoDelete, table: ts.def.ID, rows: ids})
		s.e.walDelete(s, ts, ids)
		tb := withSchema(ts, b, 1)
		newIDs, err := s.e.storeAppend(ts.store, tb)
		if err != nil {
			tb.Release()
			return n, out, pgerror.Wrap(err, pgerror.InternalError, "update")
		}
		s.addIndexEntries(ts, tb, 0, newIDs)
		s.recordUndo(undoEntry{kind: undoInsert, table: ts.def.ID, rows: newIDs})
		s.e.publish(ts, stream.Insert, tb)
		s.e.walInsert(s, ts, tb, newIDs)
		n += tb.NumRows()
		out = append(out, tb)
	}
	return n, out, nil
}

var _ = fmt.Sprintf
