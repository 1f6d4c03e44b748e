package engine

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/sabotsql/sabotsql/exec/stream"
	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/parser"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
	"github.com/sabotsql/sabotsql/storage/columnar/vfs"
	"github.com/sabotsql/sabotsql/storage/meta"
	"github.com/sabotsql/sabotsql/storage/wal"
)

// openDurable opens the WAL, checkpoint files and metadata store under
// DataDir and recovers: latest checkpoint, then the WAL after it, then the
// rollback of transactions the log does not commit. Materialized views come
// back by re-running their CREATE statements (DDL records) once the tables
// are recovered, so they backfill from the recovered rows.
func (e *Engine) openDurable(ctx context.Context) error {
	dir := e.opts.DataDir
	if dir == "" {
		return nil
	}
	walFS, err := vfs.NewOS(filepath.Join(dir, "wal"))
	if err != nil {
		return pgerror.Wrap(err, pgerror.IOError, "could not create WAL directory")
	}
	dataFS, err := vfs.NewOS(filepath.Join(dir, "data"))
	if err != nil {
		return pgerror.Wrap(err, pgerror.IOError, "could not create data directory")
	}
	return e.openDurableFS(ctx, walFS, dataFS, filepath.Join(dir, "meta"))
}

func (e *Engine) openDurableFS(ctx context.Context, walFS, dataFS vfs.FS, metaDir string) error {
	start := time.Now()
	ms, err := meta.Open(metaDir, meta.Options{RetainCheckpoints: 1, Logger: e.log})
	if err != nil {
		return err
	}
	lg, err := wal.Open(wal.Options{FS: walFS, Logger: e.log})
	if err != nil {
		ms.Close()
		return err
	}
	size := e.opts.CheckpointBytes
	if size <= 0 {
		size = DefaultCheckpointBytes
	}
	d := &durable{
		wal: lg, meta: ms, data: dataFS, ckptSize: size, replaying: true,
		sessions: map[*Session]*sessLog{}, blocks: map[*txn]uint64{}, seqLogged: map[string]seqState{},
	}
	e.dur = d
	fail := func(err error) error {
		lg.Close()
		ms.Close()
		e.dur = nil
		return err
	}
	r := &replayer{e: e, rs: newSession(e, DefaultUser, DefaultUser), txns: map[uint64]*txn{}, deferring: true}
	from := wal.LSN(1)
	m, ok, err := ms.LatestCheckpoint()
	if err != nil {
		return fail(err)
	}
	if ok {
		lsn, err := r.loadCheckpoint(ctx, m)
		if err != nil {
			return fail(err)
		}
		from = lsn
		d.epoch = m.Epoch
	}
	records := 0
	// writeMu is held across the replay (apply releases it around DDL), so
	// no barrier splits the replayed changes into many epochs.
	e.writeMu.Lock()
	err = lg.Replay(from, func(lsn wal.LSN, p []byte) error {
		records++
		return r.apply(ctx, lsn, p)
	})
	e.writeMu.Unlock()
	if err != nil {
		return fail(err)
	}
	rolledBack, err := r.finish()
	if err != nil {
		return fail(err)
	}
	if err := r.createDeferred(ctx); err != nil {
		return fail(err)
	}
	d.mu.Lock()
	d.history = r.history
	d.nextTxn = r.maxTxn
	d.replaying = false
	d.mu.Unlock()
	// Close the rolled-back transactions in the log, so their ids can never
	// be mistaken for later ones.
	for _, id := range rolledBack {
		if _, err := lg.Append(encTxn(recAbort, id)); err != nil {
			return fail(err)
		}
	}
	if len(rolledBack) > 0 {
		if err := lg.Sync(); err != nil {
			return fail(err)
		}
	}
	for name, st := range e.seqStates() {
		d.seqLogged[name] = st
	}
	// Replayed changes end in a committed epoch before the views are read.
	if err := e.Flush(ctx); err != nil {
		return fail(err)
	}
	e.log.Info("recovered", "checkpoint_epoch", d.epoch, "wal_from", from, "wal_records", records, "duration", time.Since(start))
	return nil
}

// closeDurable takes the final checkpoint and closes the log.
func (e *Engine) closeDurable() error {
	d := e.dur
	if d == nil {
		return nil
	}
	err := e.Checkpoint(context.Background())
	d.stmtMu.Lock()
	defer d.stmtMu.Unlock()
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	if serr := d.wal.Sync(); serr != nil && err == nil {
		err = serr
	}
	if cerr := d.wal.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if cerr := d.meta.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return err
}

// replayer applies checkpoint catalogs and WAL records.
type replayer struct {
	e       *Engine
	rs      *Session
	txns    map[uint64]*txn
	history []ddlEntry
	maxTxn  uint64

	// CREATE MATERIALIZED VIEW statements are deferred to the end of
	// recovery (the views then backfill from the recovered tables instead
	// of consuming every replayed change), until a DDL statement that might
	// depend on them forces them to be created in place.
	deferring bool
	deferred  []ddlEntry
}

// ddl replays one DDL entry, deferring materialized views.
func (r *replayer) ddl(ctx context.Context, ent ddlEntry, blk *txn) error {
	if r.deferring {
		st, err := parser.ParseOne(ent.SQL)
		if err == nil && st != nil && st.AST != nil {
			switch n := st.AST.Node.(type) {
			case *pg_query.Node_CreateTableAsStmt:
				if n.CreateTableAsStmt.Objtype == pg_query.ObjectType_OBJECT_MATVIEW {
					r.deferred = append(r.deferred, ent)
					return nil
				}
			case *pg_query.Node_CreateStmt, *pg_query.Node_IndexStmt, *pg_query.Node_CreateSeqStmt,
				*pg_query.Node_CreateSchemaStmt, *pg_query.Node_CreateRoleStmt, *pg_query.Node_AlterRoleStmt,
				*pg_query.Node_DropRoleStmt:
				return r.runDDL(ctx, ent, blk)
			}
		}
		if err := r.createDeferred(ctx); err != nil {
			return err
		}
		r.deferring = false
	}
	return r.runDDL(ctx, ent, blk)
}

// createDeferred creates the deferred materialized views, in log order.
func (r *replayer) createDeferred(ctx context.Context) error {
	for _, ent := range r.deferred {
		if err := r.runDDL(ctx, ent, nil); err != nil {
			return err
		}
	}
	r.deferred = nil
	return nil
}

func (r *replayer) noteTxn(id uint64) *txn {
	if id > r.maxTxn {
		r.maxTxn = id
	}
	t := r.txns[id]
	if t == nil {
		t = &txn{start: types.TimestampTZ(time.Now().UnixMicro())}
		r.txns[id] = t
	}
	return t
}

// runDDL re-executes one logged DDL statement (in transaction block blk
// when not nil).
func (r *replayer) runDDL(ctx context.Context, ent ddlEntry, blk *txn) error {
	s := r.rs
	if ent.SearchPath != "" {
		s.settings["search_path"] = ent.SearchPath
	}
	st, err := parser.ParseOne(ent.SQL)
	if err == nil && st != nil {
		s.curStarExcept = copyStarExcept(st.Stream.StarExcept)
		s.tctx.Now = time.Now()
		s.txn = blk
		res, derr := s.dispatch(ctx, st, nil, nil)
		s.txn = nil
		s.curStarExcept = nil
		closeResult(res)
		err = derr
	}
	if err != nil && ent.OK {
		return pgerror.Wrap(err, pgerror.DataCorrupted, fmt.Sprintf("recovery: replaying %q", ent.SQL))
	}
	return nil
}

func (r *replayer) tableByName(lsn wal.LSN, schema, name string) (*tableState, error) {
	rel, ok := r.e.cat.Lookup(schema, name)
	if !ok {
		return nil, walError(lsn, "table %s.%s does not exist", schema, name)
	}
	ts := r.e.table(rel.ObjID())
	if ts == nil {
		return nil, walError(lsn, "%s.%s is not a table", schema, name)
	}
	return ts, nil
}

// apply replays one WAL record (writeMu held).
func (r *replayer) apply(ctx context.Context, lsn wal.LSN, p []byte) error {
	e := r.e
	rd := &recReader{b: p}
	kind := rd.byte1()
	if kind == recSeq {
		name := rd.str()
		st := seqState{Next: rd.varint(), Increment: rd.varint(), Called: rd.bool(), Last: rd.varint()}
		if rd.err != nil {
			return walError(lsn, "%v", rd.err)
		}
		e.setSeq(name, st)
		return nil
	}
	id := rd.uvarint()
	if rd.err != nil {
		return walError(lsn, "%v", rd.err)
	}
	switch kind {
	case recDDL:
		ent := ddlEntry{OK: rd.bool(), SearchPath: rd.str(), SQL: rd.str(), Txn: id}
		if rd.err != nil {
			return walError(lsn, "%v", rd.err)
		}
		var blk *txn
		if id != 0 {
			blk = r.noteTxn(id)
		}
		e.writeMu.Unlock()
		err := r.ddl(ctx, ent, blk)
		e.writeMu.Lock()
		if err != nil {
			return err
		}
		if inHistory(ent) {
			r.history = append(r.history, ent)
		}
		return nil
	case recCommit, recAbort:
		t := r.noteTxn(id)
		if kind == recAbort && len(t.undo) > 0 {
			// Changes not undone one by one before the abort (recovery
			// logs a bare abort for a transaction it rolled back).
			r.rs.txn = t
			e.writeMu.Unlock()
			r.rs.rollback()
			e.writeMu.Lock()
		}
		delete(r.txns, id)
		r.endHistory(id, kind == recCommit)
		return nil
	case recUndo:
		t := r.txns[id]
		if t == nil || len(t.undo) == 0 {
			return walError(lsn, "undo of transaction %d without changes", id)
		}
		u := t.undo[len(t.undo)-1]
		t.undo = t.undo[:len(t.undo)-1]
		r.rs.applyUndo(u)
		return nil
	}
	schema, name := rd.str(), rd.str()
	if rd.err != nil {
		return walError(lsn, "%v", rd.err)
	}
	t := r.noteTxn(id)
	if kind == recDrop {
		if rel, ok := e.cat.Lookup(schema, name); ok {
			for _, dep := range e.cat.Dependents(rel.ObjID()) {
				r.rs.removeRelation(dep)
			}
			r.rs.removeRelation(rel)
		}
		return nil
	}
	ts, err := r.tableByName(lsn, schema, name)
	if err != nil {
		return err
	}
	switch kind {
	case recInsert:
		first := rd.varint()
		if rd.err != nil {
			return walError(lsn, "%v", rd.err)
		}
		bs, err := e.decodeBatches(rd.b, ts.schema)
		if err != nil {
			return walError(lsn, "insert into %s: %v", name, err)
		}
		defer releaseAll(bs)
		for _, b := range bs {
			ids, err := e.storeAppend(ts.store, b)
			if err != nil {
				return walError(lsn, "insert into %s: %v", name, err)
			}
			if len(ids) > 0 && ids[0] != first {
				return walError(lsn, "insert into %s: row id %d, the log says %d", name, ids[0], first)
			}
			e.publish(ts, stream.Insert, b)
			t.undo = append(t.undo, undoEntry{kind: undoInsert, table: ts.def.ID, rows: ids})
			first += int64(len(ids))
		}
	case recDelete:
		ids := decRows(rd)
		if rd.err != nil {
			return walError(lsn, "%v", rd.err)
		}
		e.publishIDs(ts, stream.Delete, ids)
		ts.store.Delete(ids)
		t.undo = append(t.undo, undoEntry{kind: undoDelete, table: ts.def.ID, rows: ids})
	case recUndelete:
		ids := decRows(rd)
		if rd.err != nil {
			return walError(lsn, "%v", rd.err)
		}
		ts.store.Undelete(ids)
		e.publishIDs(ts, stream.Insert, ids)
		t.undo = append(t.undo, undoEntry{kind: undoInsert, table: ts.def.ID, rows: ids})
	case recTruncate:
		if ts.log != nil {
			e.publishIDs(ts, stream.Delete, liveRowIDs(ts, e))
		}
		e.storeTruncate(ts.store)
	default:
		return walError(lsn, "unknown record kind %d", kind)
	}
	return nil
}

func (r *replayer) endHistory(id uint64, commit bool) {
	out := r.history[:0]
	for _, h := range r.history {
		if h.Txn == id {
			if !commit {
				continue
			}
			h.Txn = 0
		}
		out = append(out, h)
	}
	r.history = out
}

// finish rolls back transactions the log does not end, newest first,
// returning their ids, and rebuilds the unique indexes from the recovered
// rows.
func (r *replayer) finish() ([]uint64, error) {
	ids := make([]uint64, 0, len(r.txns))
	for id := range r.txns {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] > ids[j] })
	for _, id := range ids {
		r.rs.txn = r.txns[id]
		r.rs.rollback()
		r.endHistory(id, false)
	}
	r.rs.txn = nil
	e := r.e
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	e.mu.RLock()
	tables := make([]*tableState, 0, len(e.tables))
	for _, ts := range e.tables {
		tables = append(tables, ts)
	}
	e.mu.RUnlock()
	for _, ts := range tables {
		for _, ix := range ts.indexes {
			if !ix.unique {
				continue
			}
			if err := r.rs.buildUniqueIndex(ts, ix); err != nil {
				return nil, pgerror.Wrap(err, pgerror.DataCorrupted, fmt.Sprintf("recovery: rebuilding index %s", ix.name))
			}
		}
	}
	return ids, nil
}

// lsnOf reads the WAL position a manifest records.
func lsnOf(m meta.Manifest) (wal.LSN, bool) {
	for _, o := range m.Offsets {
		if o.Split == "wal" && len(o.Offset) == 8 {
			return wal.LSN(binary.BigEndian.Uint64(o.Offset)), true
		}
	}
	return 0, false
}

var _ = catalog.KindTable
var _ = os.ErrNotExist
