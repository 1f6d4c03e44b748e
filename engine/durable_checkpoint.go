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

// openFramed verifies a framed file — trailer, length and checksum, in one
// streamed pass — and returns it open with a reader over its payload and
// the payload's length, so that a large table is reloaded without holding
// its file in memory. The caller closes the file.
func openFramed(d *durable, name string) (vfs.File, *io.SectionReader, int64, error) {
	f, err := d.data.Open(name)
	if err != nil {
		return nil, nil, 0, ioError("open "+name, err)
	}
	n, err := verifyFramed(f, name)
	if err != nil {
		f.Close()
		return nil, nil, 0, err
	}
	return f, io.NewSectionReader(f, 0, n), n, nil
}

// verifyFramed checks an open framed file and returns its payload length.
func verifyFramed(f vfs.File, name string) (int64, error) {
	size, err := f.Size()
	if err != nil {
		return 0, ioError("stat "+name, err)
	}
	var tail [20]byte
	if size < int64(len(tail)) {
		return 0, corruptFile(name, "missing trailer")
	}
	if k, err := f.ReadAt(tail[:], size-int64(len(tail))); k < len(tail) {
		if err != nil && err != io.EOF {
			return 0, ioError("read "+name, err)
		}
		return 0, corruptFile(name, "short read")
	}
	if !bytes.Equal(tail[12:], ckptMagic) {
		return 0, corruptFile(name, "missing trailer")
	}
	n := int64(binary.LittleEndian.Uint64(tail[4:12]))
	if n != size-int64(len(tail)) {
		return 0, corruptFile(name, "length %d, file has %d bytes", n, size)
	}
	h := crc32.New(castagnoli)
	if _, err := io.CopyBuffer(h, io.NewSectionReader(f, 0, n), make([]byte, 1<<20)); err != nil {
		return 0, ioError("read "+name, err)
	}
	if h.Sum32() != binary.LittleEndian.Uint32(tail[:4]) {
		return 0, corruptFile(name, "checksum mismatch")
	}
	return n, nil
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
		f, payload, size, err := openFramed(e.dur, t.File)
		if err != nil {
			return 0, err
		}
		err = e.restoreTable(ts, t.File, payload, size)
		f.Close()
		if err != nil {
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
// difference to the views reading it. The payload (size bytes, checksum
// already verified) is read chunk by chunk: one decoded batch at a time
// besides the table itself.
func (e *Engine) restoreTable(ts *tableState, file string, payload io.Reader, size int64) error {
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	br := bufio.NewReaderSize(payload, 1<<20)
	n, err := binary.ReadUvarint(br)
	if err != nil || n > uint64(size)/2 {
		return corruptFile(file, "bad chunk count")
	}
	rows := make([]uint64, n)
	dels := make([][]int64, n)
	for c := range rows {
		var k uint64
		rows[c], err = binary.ReadUvarint(br)
		if err == nil {
			k, err = binary.ReadUvarint(br)
		}
		if err != nil || k > rows[c] {
			return corruptFile(file, "bad chunk header")
		}
		for j := uint64(0); j < k; j++ {
			r, err := binary.ReadUvarint(br)
			if err != nil {
				return corruptFile(file, "bad chunk header")
			}
			dels[c] = append(dels[c], memtable.RowID(c, int(r)))
		}
	}
	var rd *ipc.Reader
	if _, err := br.Peek(1); err == nil {
		rd, err = ipc.NewReader(br, ipc.WithAllocator(e.mem))
		if err != nil {
			return corruptFile(file, "%v", err)
		}
		defer rd.Release()
	}
	if ts.store.Rows() > 0 {
		if ts.log != nil {
			e.publishIDs(ts, stream.Delete, liveRowIDs(ts, e))
		}
	}
	e.storeTruncate(ts.store)
	for c := range rows {
		if rows[c] == 0 {
			continue
		}
		if rd == nil || !rd.Next() {
			if rd != nil && rd.Err() != nil {
				return corruptFile(file, "%v", rd.Err())
			}
			return corruptFile(file, "chunk %d is missing", c)
		}
		rb := rd.RecordBatch()
		if int(rb.NumCols()) != ts.schema.NumFields() || uint64(rb.NumRows()) != rows[c] {
			return corruptFile(file, "chunk %d does not match its header", c)
		}
		b := array.NewRecordBatch(ts.schema, rb.Columns(), rb.NumRows())
		ids, err := e.storeAppend(ts.store, b)
		b.Release()
		if err != nil {
			return corruptFile(file, "%v", err)
		}
		if ids[0] != memtable.RowID(c, 0) {
			return corruptFile(file, "chunk %d reloads at row id %d", c, ids[0])
		}
		ts.store.Delete(dels[c])
	}
	if rd != nil && rd.Next() {
		return corruptFile(file, "more chunks than its header lists")
	}
	if ts.log != nil {
		e.publishIDs(ts, stream.Insert, liveRowIDs(ts, e))
	}
	return nil
}
