package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sort"
	"strings"
	"syscall"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/sabotsql/sabotsql/exec/stream"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/storage/columnar/vfs"
	"github.com/sabotsql/sabotsql/storage/memtable"
	"github.com/sabotsql/sabotsql/storage/meta"
	"github.com/sabotsql/sabotsql/storage/wal"
)

// Checkpoint files live in DataDir/data:
//
//	ckpt-EEEEEEEEEEEE-catalog   JSON: DDL history, sequences, table → file
//	ckpt-EEEEEEEEEEEE-NNNN.tbl  one table's chunks
//
// each framed as payload | u32 crc32c(payload) | u64 len(payload) | "SBCKPT01".
// A table payload is
//
//	uvarint nChunks { uvarint rows | uvarint nDeleted { uvarint row } }
//	Arrow IPC stream: one batch per chunk with every row, deleted ones too
//
// so that reloading appends the same chunks and row ids survive.

var ckptMagic = []byte("SBCKPT01")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var errNoSpace = syscall.ENOSPC

// ckptCatalog is the catalog file of a checkpoint.
type ckptCatalog struct {
	History []ddlEntry          `json:"history"`
	Seqs    map[string]seqState `json:"sequences"`
	Tables  []ckptTable         `json:"tables"`
	NextTxn uint64              `json:"next_txn"`
}

type ckptTable struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
	File   string `json:"file"`
}

// maybeCheckpoint checkpoints when the WAL has grown by CheckpointBytes.
func (e *Engine) maybeCheckpoint(ctx context.Context) {
	d := e.dur
	if d == nil {
		return
	}
	d.mu.Lock()
	due := d.wal.Appended()-d.ckptAt >= d.ckptSize
	d.mu.Unlock()
	if !due {
		return
	}
	if err := e.Checkpoint(ctx); err != nil {
		e.log.Error("checkpoint failed", "err", err)
	}
}

// Checkpoint writes every table and the catalog, commits the manifest and
// truncates the WAL. It is skipped (returning nil) while a transaction
// block has logged changes: the WAL keeps covering them.
func (e *Engine) Checkpoint(ctx context.Context) error {
	d := e.dur
	if d == nil {
		return nil
	}
	d.stmtMu.Lock()
	defer d.stmtMu.Unlock()
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	d.mu.Lock()
	if d.closed || d.replaying || len(d.blocks) > 0 {
		d.mu.Unlock()
		return nil
	}
	appended := d.wal.Appended()
	lsn := d.wal.NextLSN()
	d.wal.Rotate()
	epoch := d.epoch + 1
	cat := ckptCatalog{History: append([]ddlEntry(nil), d.history...), Seqs: e.seqStates(), NextTxn: d.nextTxn}
	d.mu.Unlock()
	// Records below lsn describe the state being written; they need not be
	// durable first: the checkpoint makes their effects durable itself.
	e.mu.RLock()
	tables := make([]*tableState, 0, len(e.tables))
	for _, ts := range e.tables {
		tables = append(tables, ts)
	}
	e.mu.RUnlock()
	sort.Slice(tables, func(i, j int) bool { return tables[i].def.ID < tables[j].def.ID })
	m := meta.Manifest{Epoch: epoch}
	var off [8]byte
	binary.BigEndian.PutUint64(off[:], uint64(lsn))
	m.Offsets = []meta.SourceOffset{{SourceID: 0, Split: "wal", Offset: off[:]}}
	for i, ts := range tables {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := fmt.Sprintf("ckpt-%012d-%04d.tbl", epoch, i)
		if err := e.writeTable(d, name, ts); err != nil {
			return err
		}
		cat.Tables = append(cat.Tables, ckptTable{Schema: ts.def.Schema, Name: ts.def.Name, File: name})
		m.Tables = append(m.Tables, meta.TableFiles{TableID: uint64(ts.def.ID), Files: []string{name}})
	}
	catName := fmt.Sprintf("ckpt-%012d-catalog", epoch)
	js, err := json.Marshal(cat)
	if err != nil {
		return fmt.Errorf("engine: checkpoint catalog: %w", err)
	}
	if err := writeFramed(d, catName, js); err != nil {
		return err
	}
	m.Tables = append(m.Tables, meta.TableFiles{TableID: 0, Files: []string{catName}})
	if err := d.data.SyncDir(); err != nil {
		return ioError("sync checkpoint directory", err)
	}
	if err := d.meta.CommitCheckpoint(m); err != nil {
		return err
	}
	d.mu.Lock()
	d.epoch = epoch
	d.ckptAt = appended
	d.mu.Unlock()
	if err := d.wal.TruncateBefore(lsn); err != nil {
		e.log.Warn("checkpoint: WAL truncation failed", "err", err)
	}
	e.gcCheckpointFiles()
	e.log.Info("checkpoint", "epoch", epoch, "wal_lsn", lsn, "tables", len(tables))
	return nil
}

// gcCheckpointFiles removes checkpoint files no retained manifest names.
func (e *Engine) gcCheckpointFiles() {
	d := e.dur
	live, err := d.meta.LiveFiles()
	if err != nil {
		e.log.Warn("checkpoint: listing live files failed", "err", err)
		return
	}
	names, err := d.data.List()
	if err != nil {
		e.log.Warn("checkpoint: listing files failed", "err", err)
		return
	}
	for _, n := range names {
		if _, ok := live[n]; ok || !strings.HasPrefix(n, "ckpt-") {
			continue
		}
		if err := d.data.Remove(n); err != nil {
			e.log.Warn("checkpoint: removing an old file failed", "file", n, "err", err)
		}
	}
}

func ioError(what string, err error) error {
	if errors.Is(err, errNoSpace) {
		return pgerror.Wrap(err, pgerror.DiskFull, "could not "+what+": disk full")
	}
	return pgerror.Wrap(err, pgerror.IOError, "could not "+what)
}

// framedWriter writes a framed file as its payload comes: the payload is
// streamed to the file (checksummed and counted on the way) and Finish
// appends the frame's tail and syncs. It never holds more than its buffer.
type framedWriter struct {
	name string
	f    vfs.File
	bw   *bufio.Writer
	crc  uint32
	n    uint64
	err  error // the first write error: later writes fail with it
}

func createFramed(d *durable, name string) (*framedWriter, error) {
	f, err := d.data.Create(name)
	if err != nil {
		return nil, ioError("create "+name, err)
	}
	return &framedWriter{name: name, f: f, bw: bufio.NewWriterSize(f, 1<<20)}, nil
}

// Write appends payload bytes.
func (w *framedWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	w.crc = crc32.Update(w.crc, castagnoli, p)
	w.n += uint64(len(p))
	if _, err := w.bw.Write(p); err != nil {
		w.err = ioError("write "+w.name, err)
		return 0, w.err
	}
	return len(p), nil
}

// Finish writes the frame's tail, syncs and closes the file.
func (w *framedWriter) Finish() error {
	var tail [20]byte
	binary.LittleEndian.PutUint32(tail[:4], w.crc)
	binary.LittleEndian.PutUint64(tail[4:12], w.n)
	copy(tail[12:], ckptMagic)
	if w.err == nil {
		if _, err := w.bw.Write(tail[:]); err != nil {
			w.err = ioError("write "+w.name, err)
		}
	}
	if w.err == nil {
		if err := w.bw.Flush(); err != nil {
			w.err = ioError("write "+w.name, err)
		}
	}
	if w.err != nil {
		w.f.Close()
		return w.err
	}
	if err := w.f.Sync(); err != nil {
		w.f.Close()
		return ioError("fsync "+w.name, err)
	}
	if err := w.f.Close(); err != nil {
		return ioError("close "+w.name, err)
	}
	return nil
}

// Abort closes the file after a failure (the checkpoint's garbage
// collection removes it later).
func (w *framedWriter) Abort() { w.f.Close() }

// writeFramed writes payload with its checksum frame to name and syncs it.
func writeFramed(d *durable, name string, payload []byte) error {
	w, err := createFramed(d, name)
	if err != nil {
		return err
	}
	if _, err := w.Write(payload); err != nil {
		w.Abort()
		return err
	}
	return w.Finish()
}

// readFramed reads and verifies a framed file.
func readFramed(d *durable, name string) ([]byte, error) {
	f, err := d.data.Open(name)
	if err != nil {
		return nil, ioError("open "+name, err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, ioError("stat "+name, err)
	}
	buf := make([]byte, size)
	if n, err := f.ReadAt(buf, 0); int64(n) < size && err != nil && err != io.EOF {
		return nil, ioError("read "+name, err)
	} else if int64(n) < size {
		return nil, corruptFile(name, "short read")
	}
	if size < 20 || !bytes.Equal(buf[size-8:], ckptMagic) {
		return nil, corruptFile(name, "missing trailer")
	}
	n := int64(binary.LittleEndian.Uint64(buf[size-16 : size-8]))
	if n != size-20 {
		return nil, corruptFile(name, "length %d, file has %d bytes", n, size)
	}
	payload := buf[:n]
	if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(buf[n:]) {
		return nil, corruptFile(name, "checksum mismatch")
	}
	return payload, nil
}

func corruptFile(name, format string, args ...any) error {
	return pgerror.New(pgerror.DataCorrupted, "checkpoint file %s is corrupted: %s", name, fmt.Sprintf(format, args...))
}

// chunkRows finds how many rows chunk c of store holds (deleted ones
// included), knowing it holds at least lo, by probing single row ids.
func chunkRows(store *memtable.Table, c, lo int) int {
	has := func(r int) bool {
		b := store.Fetch([]int64{memtable.RowID(c, r)})
		defer b.Release()
		return b.NumRows() == 1
	}
	if lo > 0 && !has(lo-1) {
		return 0
	}
	hi := lo + 1
	for has(hi - 1) {
		lo = hi
		hi *= 2
	}
	// has(lo-1) (or lo == 0) and !has(hi-1): the count is in [lo, hi).
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if has(mid - 1) {
			lo = mid
		} else {
			hi = mid
		}
	}
	if lo == 0 && !has(0) {
		return 0
	}
	return lo
}

// writeTable writes a table's checkpoint file (writeMu held) in the layout
// the file comment describes, streaming it: a first pass over the chunks
// builds the header (row and deleted-row counts, no row data), then each
// chunk's batch is fetched, IPC-encoded and written before the next, so
// the memory used is one chunk's batch and the header rather than the
// whole table's file (160 MB for a 25M-row table in the issue #6 run).
func (e *Engine) writeTable(d *durable, name string, ts *tableState) error {
	snap := ts.store.Snapshot()
	defer snap.Release()
	nc := snap.NumChunks()
	rows := make([]int, nc)
	var hdr recWriter
	hdr.uvarint(uint64(nc))
	for c := 0; c < nc; c++ {
		live := map[int]bool{}
		lo := 0
		if b, ok := snap.Chunk(c, []int{}, true, e.mem); ok {
			for _, id := range b.Column(int(b.NumCols()) - 1).(*array.Int64).Int64Values() {
				r := int(id & 0xffffffff)
				live[r] = true
				if r+1 > lo {
					lo = r + 1
				}
			}
			b.Release()
		}
		n := chunkRows(ts.store, c, lo)
		rows[c] = n
		hdr.uvarint(uint64(n))
		var del []int
		for r := 0; r < n; r++ {
			if !live[r] {
				del = append(del, r)
			}
		}
		hdr.uvarint(uint64(len(del)))
		for _, r := range del {
			hdr.uvarint(uint64(r))
		}
	}
	w, err := createFramed(d, name)
	if err != nil {
		return err
	}
	if err := e.writeTableBody(w, ts, rows, hdr.b); err != nil {
		w.Abort()
		return err
	}
	return w.Finish()
}

func (e *Engine) writeTableBody(w *framedWriter, ts *tableState, rows []int, hdr []byte) error {
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	iw := ipc.NewWriter(w, ipc.WithSchema(ts.schema))
	for c, n := range rows {
		if n == 0 {
			continue
		}
		ids := make([]int64, n)
		for r := range ids {
			ids[r] = memtable.RowID(c, r)
		}
		full := ts.store.Fetch(ids)
		rb := array.NewRecordBatch(ts.schema, full.Columns(), full.NumRows())
		full.Release()
		err := iw.Write(rb)
		rb.Release()
		if err != nil {
			return fmt.Errorf("engine: checkpoint %s: %w", ts.def.Name, err)
		}
	}
	if err := iw.Close(); err != nil {
		return fmt.Errorf("engine: checkpoint %s: %w", ts.def.Name, err)
	}
	return nil
}

// loadCheckpoint restores the catalog and tables of manifest m and returns
// the WAL position to replay from.
func (r *replayer) loadCheckpoint(ctx context.Context, m meta.Manifest) (wal.LSN, error) {
	e := r.e
	lsn, ok := lsnOf(m)
	if !ok {
		return 0, pgerror.New(pgerror.DataCorrupted, "checkpoint %d has no WAL position", m.Epoch)
	}
	var catName string
	for _, t := range m.Tables {
		if t.TableID == 0 && len(t.Files) == 1 {
			catName = t.Files[0]
		}
	}
	if catName == "" {
		return 0, pgerror.New(pgerror.DataCorrupted, "checkpoint %d has no catalog file", m.Epoch)
	}
	js, err := readFramed(e.dur, catName)
	if err != nil {
		return 0, err
	}
	var cat ckptCatalog
	if err := json.Unmarshal(js, &cat); err != nil {
		return 0, corruptFile(catName, "%v", err)
	}
	for _, ent := range cat.History {
		if err := r.ddl(ctx, ent, nil); err != nil {
			return 0, err
		}
		if inHistory(ent) {
			r.history = append(r.history, ent)
		}
	}
	for _, t := range cat.Tables {
		ts, err := r.tableByName(0, t.Schema, t.Name)
		if err != nil {
			return 0, corruptFile(catName, "%v", err)
		}
		payload, err := readFramed(e.dur, t.File)
		if err != nil {
			return 0, err
		}
		if err := e.restoreTable(ts, t.File, payload); err != nil {
			return 0, err
		}
	}
	for name, st := range cat.Seqs {
		e.setSeq(name, st)
	}
	if cat.NextTxn > r.maxTxn {
		r.maxTxn = cat.NextTxn
	}
	return lsn, nil
}

// restoreTable replaces a table's rows by a checkpoint's, publishing the
// difference to the views reading it.
func (e *Engine) restoreTable(ts *tableState, file string, payload []byte) error {
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	rd := &recReader{b: payload}
	n := rd.uvarint()
	if rd.err != nil || n > uint64(len(payload)) {
		return corruptFile(file, "bad chunk count")
	}
	rows := make([]uint64, n)
	dels := make([][]int64, n)
	for c := range rows {
		rows[c] = rd.uvarint()
		k := rd.uvarint()
		if rd.err != nil || k > rows[c] {
			return corruptFile(file, "bad chunk header")
		}
		for j := uint64(0); j < k; j++ {
			dels[c] = append(dels[c], memtable.RowID(c, int(rd.uvarint())))
		}
	}
	if rd.err != nil {
		return corruptFile(file, "bad chunk header")
	}
	var bs []arrow.RecordBatch
	if len(rd.b) > 0 {
		var err error
		bs, err = e.decodeBatches(rd.b, ts.schema)
		if err != nil {
			return corruptFile(file, "%v", err)
		}
	}
	defer releaseAll(bs)
	if ts.store.Rows() > 0 {
		if ts.log != nil {
			e.publishIDs(ts, stream.Delete, liveRowIDs(ts, e))
		}
	}
	e.storeTruncate(ts.store)
	bi := 0
	for c := range rows {
		if rows[c] == 0 {
			continue
		}
		if bi >= len(bs) || uint64(bs[bi].NumRows()) != rows[c] {
			return corruptFile(file, "chunk %d does not match its header", c)
		}
		ids, err := e.storeAppend(ts.store, bs[bi])
		bi++
		if err != nil {
			return corruptFile(file, "%v", err)
		}
		if ids[0] != memtable.RowID(c, 0) {
			return corruptFile(file, "chunk %d reloads at row id %d", c, ids[0])
		}
		ts.store.Delete(dels[c])
	}
	if ts.log != nil {
		e.publishIDs(ts, stream.Insert, liveRowIDs(ts, e))
	}
	return nil
}
