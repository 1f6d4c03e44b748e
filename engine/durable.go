package engine

// Durability: every physical change to a table is logged to the
// write-ahead log (storage/wal) as it happens, DDL is logged as its SQL
// text, and a statement is acknowledged only after the log is synced.
// Checkpoints (durable_checkpoint.go) write every table and the catalog so
// the log can be truncated; recovery (durable_replay.go) loads the latest
// checkpoint and replays the log after it.
//
// Transactions. Every record carries a transaction id: a transaction block
// gets one at its first record, and so does every autocommit statement that
// changes rows (its records end with a commit record before the sync).
// Replay applies every record in log order exactly as the original did —
// rolled-back changes included, so row ids match — keeping an undo list per
// transaction; a rollback logs one "undo" record per undone change, and at
// the end of replay the changes of transactions without a commit record are
// undone like a rollback.
//
// Ordering. stmtMu makes the order of records the order of the changes in
// memory: statements that change rows hold it shared (their records are
// appended under writeMu), DDL holds it exclusively and appends its record
// before releasing it, and a checkpoint holds it exclusively.
//
// Failed syncs. When the sync after a statement (or COMMIT) fails, the
// statement's changes are undone in memory and compensating records
// (delete/undelete/drop) are appended, so memory never shows data the log
// does not hold and the log, once it can be written again, replays to the
// same state. DDL and TRUNCATE outside a block are not undone: the
// statement reports the error, its change stays in memory and its record
// stays pending and becomes durable with the next successful sync.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/sabotsql/sabotsql/api"
	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/parser"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/storage/columnar/vfs"
	"github.com/sabotsql/sabotsql/storage/meta"
	"github.com/sabotsql/sabotsql/storage/wal"
)

// DefaultCheckpointBytes is the WAL volume between checkpoints.
const DefaultCheckpointBytes = 64 << 20

// Record kinds of the engine's WAL payloads (first byte).
const (
	recDDL      byte = 1  // txn, ok, search_path, sql
	recInsert   byte = 2  // txn, schema, table, first row id, Arrow IPC stream of the rows
	recDelete   byte = 3  // txn, schema, table, row ids
	recUndelete byte = 4  // txn, schema, table, row ids
	recTruncate byte = 5  // txn, schema, table
	recDrop     byte = 6  // txn, schema, relation (compensates a create)
	recUndo     byte = 7  // txn: its newest remaining change was rolled back
	recCommit   byte = 8  // txn
	recAbort    byte = 9  // txn: undoes what of it is not undone yet
	recSeq      byte = 10 // name, next, increment, called, last
)

type stmtClass uint8

const (
	classNone stmtClass = iota // reads, settings: nothing to log
	classDML                   // changes rows: records, then commit+sync
	classDDL                   // logged as SQL text
	classTxn                   // BEGIN/COMMIT/ROLLBACK
	classCheckpoint
)

// durable is the engine's logging and checkpoint state (nil when
// Options.DataDir is "").
type durable struct {
	wal      *wal.Log
	meta     *meta.Store
	data     vfs.FS
	ckptSize int64

	// stmtMu orders statements against each other (see the file comment).
	stmtMu sync.RWMutex

	// mu guards the fields below.
	mu        sync.Mutex
	replaying bool
	closed    bool
	sessions  map[*Session]*sessLog
	blocks    map[*txn]uint64 // open transaction blocks with records
	nextTxn   uint64
	history   []ddlEntry // DDL since the database was created (the catalog)
	seqLogged map[string]seqState
	epoch     uint64
	ckptAt    int64 // wal.Appended() at the last checkpoint
}

// sessLog is a running statement's logging state.
type sessLog struct {
	class    stmtClass
	quiet    bool   // DDL: its own row changes are not logged
	stmtTxn  uint64 // the autocommit statement's transaction id (0: none yet)
	undo     []undoEntry
	appended bool
	// committing is COMMIT's block: undone if the commit's sync fails.
	committing []undoEntry
	err        error
}

// ddlEntry is one DDL statement of the catalog history.
type ddlEntry struct {
	SQL        string `json:"sql"`
	SearchPath string `json:"search_path"`
	OK         bool   `json:"ok"`
	Txn        uint64 `json:"-"`
}

type seqState struct {
	Next      int64 `json:"next"`
	Increment int64 `json:"increment"`
	Called    bool  `json:"called"`
	Last      int64 `json:"last"`
}

// classify tells how a statement is logged.
func classify(st *parser.Statement) stmtClass {
	if st == nil {
		return classDML // COPY FROM STDIN data
	}
	if st.Kind != parser.KindPG || st.AST == nil {
		return classNone
	}
	switch st.AST.Node.(type) {
	case *pg_query.Node_InsertStmt, *pg_query.Node_UpdateStmt, *pg_query.Node_DeleteStmt,
		*pg_query.Node_CopyStmt, *pg_query.Node_TruncateStmt:
		return classDML
	case *pg_query.Node_TransactionStmt:
		return classTxn
	case *pg_query.Node_CheckPointStmt:
		return classCheckpoint
	case *pg_query.Node_SelectStmt, *pg_query.Node_VariableSetStmt, *pg_query.Node_VariableShowStmt,
		*pg_query.Node_ExplainStmt, *pg_query.Node_PrepareStmt, *pg_query.Node_ExecuteStmt,
		*pg_query.Node_DeallocateStmt, *pg_query.Node_DiscardStmt, *pg_query.Node_VacuumStmt:
		return classNone
	}
	// Everything else changes the catalog (CREATE/DROP/ALTER of tables,
	// views, indexes, sequences, schemas, roles, functions, …) and is
	// logged as SQL text; a statement kind added later is logged too.
	return classDDL
}

// walBegin starts logging statement st of session s (nil: COPY data) and
// returns the function that ends it: it logs the statement's DDL record or
// commit, syncs the log, and turns a failed sync into the statement's
// error after undoing the statement's changes.
func (e *Engine) walBegin(s *Session, st *parser.Statement) func(context.Context, api.Result, error) (api.Result, error) {
	d := e.dur
	if d == nil {
		return func(_ context.Context, r api.Result, err error) (api.Result, error) { return r, err }
	}
	class := classify(st)
	var unlock func()
	switch class {
	case classDDL, classCheckpoint:
		d.stmtMu.Lock()
		unlock = d.stmtMu.Unlock
	case classNone:
		return func(_ context.Context, r api.Result, err error) (api.Result, error) {
			if err == nil && e.walSeqs() {
				if serr := e.walSync(); serr != nil {
					closeResult(r)
					return api.Result{}, serr
				}
			}
			if err == nil && r.Rows != nil && e.hasSeqs() {
				// nextval() runs while the rows are read: log the
				// sequences before the statement completes.
				r.Rows = &seqRows{Rows: r.Rows, e: e}
			}
			return r, err
		}
	default:
		d.stmtMu.RLock()
		unlock = d.stmtMu.RUnlock
	}
	sl := &sessLog{class: class, quiet: class == classDDL}
	d.mu.Lock()
	d.sessions[s] = sl
	d.mu.Unlock()
	return func(ctx context.Context, res api.Result, err error) (api.Result, error) {
		return e.walEnd(ctx, s, st, sl, unlock, res, err)
	}
}

// seqRows logs the sequences a query advanced once its rows are read.
type seqRows struct {
	api.Rows
	e    *Engine
	done bool
}

func (r *seqRows) Next(ctx context.Context) (arrow.RecordBatch, error) {
	b, err := r.Rows.Next(ctx)
	if b == nil && err == nil && !r.done {
		r.done = true
		if r.e.walSeqs() {
			if serr := r.e.walSync(); serr != nil {
				return nil, serr
			}
		}
	}
	return b, err
}

func (r *seqRows) Close() error {
	if !r.done {
		r.done = true
		if r.e.walSeqs() {
			if err := r.e.walSync(); err != nil {
				r.e.log.Error("write-ahead log sync failed", "err", err)
			}
		}
	}
	return r.Rows.Close()
}

func (e *Engine) hasSeqs() bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return len(e.seqs) > 0
}

// inHistory reports whether a logged DDL statement belongs to the catalog
// history that checkpoints replay over empty tables. A statement that
// failed is left out (over empty tables it might succeed — a unique index
// over duplicate rows), except CREATE TABLE AS, which can fail after
// creating its table.
func inHistory(ent ddlEntry) bool {
	if ent.OK {
		return true
	}
	st, err := parser.ParseOne(ent.SQL)
	return err == nil && st != nil && st.AST != nil && st.AST.GetCreateTableAsStmt() != nil
}

func closeResult(r api.Result) {
	if r.Rows != nil {
		r.Rows.Close()
	}
}

func (e *Engine) walEnd(ctx context.Context, s *Session, st *parser.Statement, sl *sessLog, unlock func(), res api.Result, err error) (api.Result, error) {
	d := e.dur
	d.mu.Lock()
	delete(d.sessions, s)
	needSync := false
	var herr error
	if sl.class == classDDL {
		var id uint64
		if s.txn != nil {
			id = d.blockIDLocked(s.txn)
		}
		ent := ddlEntry{SQL: st.SQL, SearchPath: s.settings["search_path"], OK: err == nil, Txn: id}
		if _, aerr := d.wal.Append(encDDL(ent)); aerr != nil {
			herr = aerr
		}
		if inHistory(ent) {
			d.history = append(d.history, ent)
		}
		needSync = s.txn == nil
	}
	if sl.stmtTxn != 0 {
		if _, aerr := d.wal.Append(encTxn(recCommit, sl.stmtTxn)); aerr != nil && herr == nil {
			herr = aerr
		}
		needSync = true
	}
	if sl.committing != nil || (sl.class == classTxn && sl.appended) {
		needSync = true
	}
	if e.walSeqsLocked() {
		needSync = true
	}
	if sl.err != nil && herr == nil {
		herr = sl.err
	}
	d.mu.Unlock()
	unlock()
	if herr == nil && needSync {
		herr = d.wal.Sync()
	}
	if herr != nil {
		closeResult(res)
		e.log.Error("write-ahead log failed; statement not acknowledged", "err", herr)
		undo := sl.undo
		if sl.committing != nil {
			undo = sl.committing
		}
		e.compensate(s, undo)
		return api.Result{}, herr
	}
	if sl.class == classCheckpoint && err == nil {
		if cerr := e.Checkpoint(ctx); cerr != nil {
			return api.Result{}, cerr
		}
	} else if err == nil && needSync {
		e.maybeCheckpoint(ctx)
	}
	return res, err
}

// walSync makes every appended record durable.
func (e *Engine) walSync() error {
	if e.dur == nil {
		return nil
	}
	return e.dur.wal.Sync()
}

// blockIDLocked returns (assigning) the id of a transaction block.
func (d *durable) blockIDLocked(t *txn) uint64 {
	id, ok := d.blocks[t]
	if !ok {
		d.nextTxn++
		id = d.nextTxn
		d.blocks[t] = id
	}
	return id
}

// txnFor returns the transaction id s's changes are logged under, or 0 when
// they are not logged (no durability, replay, DDL's own changes).
func (d *durable) txnForLocked(s *Session) (uint64, *sessLog) {
	if d.replaying || d.closed {
		return 0, nil
	}
	sl := d.sessions[s]
	if sl != nil && sl.quiet {
		return 0, nil
	}
	if s.txn != nil {
		if sl != nil {
			sl.appended = true
		}
		return d.blockIDLocked(s.txn), sl
	}
	if sl == nil {
		// A change outside any statement wrapper: log it as its own
		// committed transaction.
		d.nextTxn++
		return d.nextTxn, nil
	}
	if sl.stmtTxn == 0 {
		d.nextTxn++
		sl.stmtTxn = d.nextTxn
	}
	sl.appended = true
	return sl.stmtTxn, sl
}

// walAppend appends a record built by enc for session s's transaction.
func (e *Engine) walAppend(s *Session, enc func(txn uint64) ([]byte, error)) {
	d := e.dur
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	id, sl := d.txnForLocked(s)
	if id == 0 {
		return
	}
	p, err := enc(id)
	if err == nil {
		_, err = d.wal.Append(p)
	}
	if err != nil {
		if sl != nil && sl.err == nil {
			sl.err = err
		}
		e.log.Error("write-ahead log append failed", "err", err)
		return
	}
	if sl == nil && s.txn == nil {
		// Outside a statement wrapper: commit at once.
		if _, err := d.wal.Append(encTxn(recCommit, id)); err != nil {
			e.log.Error("write-ahead log append failed", "err", err)
		}
	}
}

// walInsert logs rows appended to a table (ids: their row ids).
func (e *Engine) walInsert(s *Session, ts *tableState, b arrow.RecordBatch, ids []int64) {
	if e.dur == nil || len(ids) == 0 {
		return
	}
	e.walAppend(s, func(id uint64) ([]byte, error) { return encInsert(id, ts.def, ids[0], b) })
}

// walDelete logs rows marked deleted.
func (e *Engine) walDelete(s *Session, ts *tableState, ids []int64) {
	if e.dur == nil || len(ids) == 0 {
		return
	}
	e.walAppend(s, func(id uint64) ([]byte, error) { return encRows(recDelete, id, ts.def, ids), nil })
}

// walTruncate logs a TRUNCATE outside a transaction block.
func (e *Engine) walTruncate(s *Session, ts *tableState) {
	if e.dur == nil {
		return
	}
	e.walAppend(s, func(id uint64) ([]byte, error) {
		var w recWriter
		w.hdr(recTruncate, id)
		w.str(ts.def.Schema)
		w.str(ts.def.Name)
		return w.b, nil
	})
}

// walNoteUndo remembers an autocommit statement's change so a failed sync
// can undo it (called from recordUndo).
func (e *Engine) walNoteUndo(s *Session, u undoEntry) {
	d := e.dur
	if d == nil || s.txn != nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if sl := d.sessions[s]; sl != nil && !sl.quiet && !d.replaying {
		sl.undo = append(sl.undo, u)
	}
}

// walUndo logs that the newest remaining change of s's block was rolled
// back (called for each entry by rollback).
func (e *Engine) walUndo(s *Session) {
	e.walBlockMarker(s, recUndo, false)
}

// walAbort logs the end of a rolled-back block.
func (e *Engine) walAbort(s *Session) {
	e.walBlockMarker(s, recAbort, true)
}

// walCommit logs the commit of s's block; the statement's end syncs it.
func (e *Engine) walCommit(s *Session) {
	d := e.dur
	if d == nil || s.txn == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	id, ok := d.blocks[s.txn]
	if !ok || d.replaying {
		return
	}
	delete(d.blocks, s.txn)
	for i := range d.history {
		if d.history[i].Txn == id {
			d.history[i].Txn = 0
		}
	}
	if _, err := d.wal.Append(encTxn(recCommit, id)); err != nil {
		e.log.Error("write-ahead log append failed", "err", err)
	}
	if sl := d.sessions[s]; sl != nil {
		sl.committing = append([]undoEntry{}, s.txn.undo...)
	}
}

func (e *Engine) walBlockMarker(s *Session, kind byte, end bool) {
	d := e.dur
	if d == nil || s.txn == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	id, ok := d.blocks[s.txn]
	if !ok || d.replaying {
		return
	}
	if _, err := d.wal.Append(encTxn(kind, id)); err != nil {
		e.log.Error("write-ahead log append failed", "err", err)
	}
	if end {
		delete(d.blocks, s.txn)
		d.dropHistoryLocked(id)
	}
}

func (d *durable) dropHistoryLocked(id uint64) {
	out := d.history[:0]
	for _, h := range d.history {
		if h.Txn != id {
			out = append(out, h)
		}
	}
	d.history = out
}

// compensate undoes changes whose records could not be made durable, newest
// first, logging the compensating records as one committed transaction.
func (e *Engine) compensate(s *Session, undo []undoEntry) {
	if len(undo) == 0 {
		return
	}
	d := e.dur
	d.stmtMu.RLock()
	defer d.stmtMu.RUnlock()
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	d.mu.Lock()
	d.nextTxn++
	id := d.nextTxn
	d.mu.Unlock()
	for i := len(undo) - 1; i >= 0; i-- {
		u := undo[i]
		var rec []byte
		switch u.kind {
		case undoInsert:
			if ts := e.table(u.table); ts != nil {
				rec = encRows(recDelete, id, ts.def, u.rows)
			}
		case undoDelete:
			if ts := e.table(u.table); ts != nil {
				rec = encRows(recUndelete, id, ts.def, u.rows)
			}
		case undoCreate:
			if r, ok := e.cat.ByID(u.table); ok {
				var w recWriter
				w.hdr(recDrop, id)
				w.str(relSchema(r))
				w.str(r.RelName())
				rec = w.b
			}
		}
		s.applyUndo(u)
		if rec != nil {
			if _, err := d.wal.Append(rec); err != nil {
				e.log.Error("write-ahead log append failed", "err", err)
			}
		}
	}
	if _, err := d.wal.Append(encTxn(recCommit, id)); err != nil {
		e.log.Error("write-ahead log append failed", "err", err)
	}
}

func relSchema(r catalog.Relation) string {
	switch x := r.(type) {
	case *catalog.Table:
		return x.Schema
	case *catalog.View:
		return x.Schema
	}
	return "public"
}

// walSeqs logs sequences whose state changed since last logged, reporting
// whether it logged any.
func (e *Engine) walSeqs() bool {
	if e.dur == nil {
		return false
	}
	e.dur.mu.Lock()
	defer e.dur.mu.Unlock()
	return e.walSeqsLocked()
}

func (e *Engine) walSeqsLocked() bool {
	d := e.dur
	if d.replaying || d.closed {
		return false
	}
	logged := false
	for name, st := range e.seqStates() {
		if old, ok := d.seqLogged[name]; ok && old == st {
			continue
		}
		d.seqLogged[name] = st
		var w recWriter
		w.b = append(w.b, recSeq)
		w.str(name)
		w.varint(st.Next)
		w.varint(st.Increment)
		w.bool(st.Called)
		w.varint(st.Last)
		if _, err := d.wal.Append(w.b); err != nil {
			e.log.Error("write-ahead log append failed", "err", err)
			continue
		}
		logged = true
	}
	return logged
}

func (e *Engine) seqStates() map[string]seqState {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make(map[string]seqState, len(e.seqs))
	for name, q := range e.seqs {
		q.mu.Lock()
		out[name] = seqState{Next: q.next, Increment: q.increment, Called: q.called, Last: q.last}
		q.mu.Unlock()
	}
	return out
}

func (e *Engine) setSeq(name string, st seqState) {
	e.mu.Lock()
	defer e.mu.Unlock()
	q, ok := e.seqs[name]
	if !ok {
		q = &sequence{}
		e.seqs[name] = q
	}
	q.mu.Lock()
	q.next, q.increment, q.called, q.last = st.Next, st.Increment, st.Called, st.Last
	q.mu.Unlock()
}

// walLockShared orders a change made outside a statement (a session's
// closing rollback) with the statements; call the result to release.
func (e *Engine) walLockShared() func() {
	if e.dur == nil {
		return func() {}
	}
	e.dur.stmtMu.RLock()
	return e.dur.stmtMu.RUnlock
}

// --- record encoding ---

type recWriter struct{ b []byte }

func (w *recWriter) hdr(kind byte, txn uint64) {
	w.b = append(w.b, kind)
	w.b = binary.AppendUvarint(w.b, txn)
}
func (w *recWriter) uvarint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *recWriter) varint(v int64)   { w.b = binary.AppendVarint(w.b, v) }
func (w *recWriter) str(s string)     { w.uvarint(uint64(len(s))); w.b = append(w.b, s...) }
func (w *recWriter) bool(v bool) {
	if v {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}

type recReader struct {
	b   []byte
	err error
}

var errShortRecord = errors.New("truncated record")

func (r *recReader) byte1() byte {
	if r.err != nil || len(r.b) == 0 {
		r.err = errShortRecord
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}
func (r *recReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errShortRecord
		return 0
	}
	r.b = r.b[n:]
	return v
}
func (r *recReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errShortRecord
		return 0
	}
	r.b = r.b[n:]
	return v
}
func (r *recReader) str() string {
	n := r.uvarint()
	if r.err != nil || uint64(len(r.b)) < n {
		r.err = errShortRecord
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}
func (r *recReader) bool() bool { return r.byte1() != 0 }

func encTxn(kind byte, id uint64) []byte {
	var w recWriter
	w.hdr(kind, id)
	return w.b
}

func encDDL(ent ddlEntry) []byte {
	var w recWriter
	w.hdr(recDDL, ent.Txn)
	w.bool(ent.OK)
	w.str(ent.SearchPath)
	w.str(ent.SQL)
	return w.b
}

func encRows(kind byte, id uint64, t *catalog.Table, ids []int64) []byte {
	var w recWriter
	w.hdr(kind, id)
	w.str(t.Schema)
	w.str(t.Name)
	w.uvarint(uint64(len(ids)))
	prev := int64(0)
	for _, x := range ids {
		w.varint(x - prev)
		prev = x
	}
	return w.b
}

func decRows(r *recReader) []int64 {
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		r.err = errShortRecord
		return nil
	}
	ids := make([]int64, n)
	prev := int64(0)
	for i := range ids {
		prev += r.varint()
		ids[i] = prev
	}
	return ids
}

func encInsert(id uint64, t *catalog.Table, first int64, b arrow.RecordBatch) ([]byte, error) {
	var w recWriter
	w.hdr(recInsert, id)
	w.str(t.Schema)
	w.str(t.Name)
	w.varint(first)
	buf := bytes.NewBuffer(w.b)
	iw := ipc.NewWriter(buf, ipc.WithSchema(b.Schema()))
	if err := iw.Write(b); err != nil {
		return nil, fmt.Errorf("engine: encoding WAL insert: %w", err)
	}
	if err := iw.Close(); err != nil {
		return nil, fmt.Errorf("engine: encoding WAL insert: %w", err)
	}
	return buf.Bytes(), nil
}

// decodeBatches reads an Arrow IPC stream, relabelling every batch with
// schema (the caller releases them).
func (e *Engine) decodeBatches(data []byte, schema *arrow.Schema) ([]arrow.RecordBatch, error) {
	rd, err := ipc.NewReader(bytes.NewReader(data), ipc.WithAllocator(e.mem))
	if err != nil {
		return nil, err
	}
	defer rd.Release()
	var out []arrow.RecordBatch
	for rd.Next() {
		rb := rd.RecordBatch()
		if int(rb.NumCols()) != schema.NumFields() {
			releaseAll(out)
			return nil, fmt.Errorf("batch has %d columns, table %d", rb.NumCols(), schema.NumFields())
		}
		out = append(out, array.NewRecordBatch(schema, rb.Columns(), rb.NumRows()))
	}
	if err := rd.Err(); err != nil {
		releaseAll(out)
		return nil, err
	}
	return out, nil
}

// walError turns a failure to apply the log into a corruption error.
func walError(lsn wal.LSN, format string, args ...any) error {
	return pgerror.New(pgerror.DataCorrupted, "recovery: WAL record %d: %s", lsn, fmt.Sprintf(format, args...))
}
