package pebblestate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/storage/state"
)

// Options configure a Table. Zero values take the defaults.
type Options struct {
	// Dir is the table's directory (required); see the package doc.
	Dir string
	// FS is Pebble's filesystem; default vfs.Default (the OS). Tests pass
	// vfs.NewMem().
	FS vfs.FS
	// Cache is a Pebble block cache shared between tables (the caller keeps
	// its reference). Nil: a private cache of CacheSize bytes.
	Cache *pebble.Cache
	// CacheSize is the private block cache's size (default 8 MiB).
	CacheSize int64
	// MemTableSize is Pebble's memtable size (default 4 MiB).
	MemTableSize uint64
	// L0CompactionThreshold is Pebble's L0CompactionThreshold: L0
	// compacts once its read amplification (sublevels) reaches half of it
	// (default 8; see the package doc). Tests lower it to make compactions
	// frequent.
	L0CompactionThreshold int
	// IngestMinKeys is the number of writes from which Commit writes an
	// epoch (see the package doc) as an sstable and ingests it instead of
	// applying a batch to the memtable (default 2048; negative: never).
	IngestMinKeys int
	// RowCacheSize bounds the row cache in front of Pebble (rowcache.go):
	// recently read committed rows and their one-row batches (default
	// MemTableSize; negative: no row cache).
	RowCacheSize int64
	// Budget, if set, is charged with two memtables (MemTableSize each,
	// from Open to Close; Open fails with 53200 when they do not fit) and
	// the row cache's bytes (in 64 KiB quanta, returned by Close); the
	// cache stops growing when it refuses.
	Budget state.MemoryBudget
	// Allocator builds the batches returned by reads (default Go allocator).
	Allocator memory.Allocator
	// Logger receives Pebble's messages at debug level and background
	// errors at warn level (default slog.Default()).
	Logger *slog.Logger
}

// Table is the pebble backend's state table. See the package doc.
type Table struct {
	opts  Options
	codec *state.RowCodec
	cache *pebble.Cache // ours to Unref
	// memCharge is what Open reserved of Options.Budget for Pebble's
	// memtables (returned by Close).
	memCharge int64

	mu        sync.RWMutex // guards the fields below and Pebble's lifetime
	db        *pebble.DB
	committed state.Epoch
	snaps     map[state.Epoch]*snapRef
	closed    bool
	applied   int64       // puts applied since Open, for the key estimate
	rc        *rowCache   // nil: no row cache
	changedAt state.Epoch // the last epoch whose commit changed Pebble (or the restored one)

	// Writer-only: the pending epoch and scratch space. pend is nil once
	// the table is closed.
	pend      *pending
	wits      writerIters           // the writer view's kept lookup iterators (lookup.go)
	ingestMin int                   // Options.IngestMinKeys resolved (0: never)
	wopts     sstable.WriterOptions // for ingested sstables of appends (bottom level)
	woptsL0   sstable.WriterOptions // for other ingested epochs (L0): with Bloom filters
	sstBuf    sstBuffer
	maxKey    string // an upper bound of the stored keys, if hasMax
	hasMax    bool
	ingested  int // epochs committed by ingestion since Open
	offs      []int
	skip      []bool
}

type snapRef struct {
	ps *pebble.Snapshot
	n  int
	// lmu guards li, the snapshot's kept lookup iterator; a reader that
	// finds it taken uses an iterator of its own for the call.
	lmu sync.Mutex
	li  lookupIter
}

var (
	_ state.Table        = (*Table)(nil)
	_ state.Checkpointer = (*Table)(nil)
)

// Open opens (or creates) the table in opts.Dir at its last checkpoint;
// commits after that checkpoint are discarded.
func Open(ctx context.Context, valueSchema *arrow.Schema, opts Options) (*Table, error) {
	if opts.Dir == "" {
		return nil, pgerror.Internal("pebblestate: Options.Dir is required")
	}
	if opts.FS == nil {
		opts.FS = vfs.Default
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = 8 << 20
	}
	if opts.MemTableSize == 0 {
		opts.MemTableSize = 4 << 20
	}
	if opts.Allocator == nil {
		opts.Allocator = memory.NewGoAllocator()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	codec, err := state.NewRowCodec(valueSchema)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	epoch, err := restoreLive(opts.FS, opts.Dir)
	if err != nil {
		return nil, err
	}
	t := &Table{opts: opts, codec: codec, committed: epoch, changedAt: epoch, snaps: make(map[state.Epoch]*snapRef)}
	if opts.RowCacheSize == 0 {
		opts.RowCacheSize = int64(opts.MemTableSize)
	}
	if opts.RowCacheSize > 0 {
		t.rc = newRowCache(opts.RowCacheSize, valueSchema.NumFields(), opts.Budget)
	}
	cache := opts.Cache
	if cache == nil {
		t.cache = pebble.NewCache(opts.CacheSize)
		cache = t.cache
	}
	popts := &pebble.Options{
		FS:                 opts.FS,
		Cache:              cache,
		MemTableSize:       opts.MemTableSize,
		FormatMajorVersion: pebble.FormatNewest,
		Logger:             pebbleLogger{opts.Logger},
		// No WAL: commits are never synced anyway, and durability comes
		// from Checkpoint, which flushes the memtables first. Writing each
		// epoch's batch to a log nobody replays only cost CPU.
		DisableWAL: true,
	}
	if opts.L0CompactionThreshold > 0 {
		popts.L0CompactionThreshold = opts.L0CompactionThreshold
		popts.L0CompactionFileThreshold = opts.L0CompactionThreshold
		// Pebble refuses a stop-writes threshold (default 12) below the
		// compaction threshold.
		popts.L0StopWritesThreshold = max(defaultL0StopWritesThreshold, opts.L0CompactionThreshold)
	} else {
		// Overwritten state (an aggregate's groups) compacts L0 into
		// Lbase rewriting every live key; waiting for 4 sublevels instead
		// of Pebble's 2 halves that rewrite.
		popts.L0CompactionThreshold = defaultL0CompactionThreshold
	}
	// No compression on any level (the deeper ones inherit L0's): state
	// rows are small and mostly numbers, and every compaction would pay
	// for decompressing and recompressing them.
	popts.Levels[0].Compression = func() *sstable.CompressionProfile { return sstable.NoCompression }
	// One index level: a point lookup then reads two cached blocks (index,
	// data), not three; the deeper levels inherit it.
	popts.Levels[0].IndexBlockSize = indexBlockSize
	// Bloom filters (10 bits per key, ~1% false positives) on every level
	// but the bottom one (the others inherit L0's): a point lookup's
	// prefix seek skips each L0 sublevel and upper level whose file lacks
	// the key instead of seeking its index and data blocks. Iterators
	// ignore L6's filters (IterOptions.UseL6Filters), so the bottom level,
	// which every compaction of overwritten state rewrites, is written
	// without them.
	popts.Levels[0].FilterPolicy = bloom.FilterPolicy(10)
	popts.EventListener = &pebble.EventListener{
		BackgroundError: func(err error) { opts.Logger.Warn("pebblestate: background error", "dir", opts.Dir, "err", err) },
		// Pebble's default is Fatalf; the failing read already returns the
		// corruption error, which storageErr reports as XX001.
		DataCorruption: func(info pebble.DataCorruptionInfo) {
			msg, _, _ := strings.Cut(fmt.Sprint(info.Details), "\n")
			opts.Logger.Error("pebblestate: data corruption", "dir", opts.Dir, "path", info.Path, "err", msg)
		},
	}
	popts.EnsureDefaults() // MakeWriterOptions reads the level defaults
	// The bottom level inherited L0's filter policy; it writes none
	// (compacting into it then skips hashing every key it rewrites).
	popts.Levels[numLevels-1].FilterPolicy = pebble.NoFilterPolicy
	// Pebble's memtables live outside the Go objects the budget sees: the
	// table reserves room for two of them (the mutable one and one being
	// flushed) for its whole life, or is refused with 53200.
	if err := t.reserveMemtables(popts.MemTableSize); err != nil {
		t.unrefCache()
		return nil, err
	}
	db, err := pebble.Open(opts.FS.PathJoin(opts.Dir, liveDir), popts)
	if err != nil {
		t.unrefCache()
		t.releaseMemtables()
		return nil, storageErr("open", opts.Dir, err)
	}
	if err := checkFormat(db, opts.Dir); err != nil {
		db.Close()
		t.unrefCache()
		t.releaseMemtables()
		return nil, err
	}
	if t.maxKey, t.hasMax, err = loadMax(db); err != nil {
		db.Close()
		t.unrefCache()
		t.releaseMemtables()
		return nil, storageErr("open", opts.Dir, err)
	}
	t.db = db
	t.pend = newPending(0, false)
	switch {
	case opts.IngestMinKeys == 0:
		t.ingestMin = defaultIngestMinKeys
	case opts.IngestMinKeys > 0:
		t.ingestMin = opts.IngestMinKeys
	}
	t.wopts = popts.MakeWriterOptions(0, ingestTableFormat(db))
	// Appended rows (row ids, floats) gain little from snappy; the files
	// stay in the bottom level unrewritten, so they are written once,
	// uncompressed.
	t.wopts.Compression = sstable.NoCompression
	// An epoch that overlaps stored keys lands in L0, where lookups check
	// filters (as for flushed files): with none, every point lookup would
	// seek each such file.
	t.woptsL0 = t.wopts
	// Appends go to the bottom level, whose filters lookups skip.
	t.wopts.FilterPolicy = pebble.NoFilterPolicy
	return t, nil
}

// indexBlockSize is the sstables' index block target: 256 KiB of index
// entries (~20 bytes each) covers a file of ~50 MiB of 4 KiB data blocks
// with a single-level index.
const indexBlockSize = 256 << 10

// defaultL0StopWritesThreshold is Pebble's default L0StopWritesThreshold.
const defaultL0StopWritesThreshold = 12

// numLevels is the number of Pebble's LSM levels (L0 to the bottom, L6).
const numLevels = len(pebble.Options{}.Levels)

// formatKey holds the table's key format version, outside the prefixed
// user key space.
var formatKey = []byte{0x00, 'f', 'm', 't'}

// keyFormat is the current key format: 2 = user keys stored behind
// keyPrefix (1 stored them bare).
const keyFormat = 2

// checkFormat stamps a new table with the key format and refuses a table
// written in the earlier, unprefixed format (its keys would be misread).
func checkFormat(db *pebble.DB, dir string) error {
	v, closer, err := db.Get(formatKey)
	if err == nil {
		ok := len(v) == 1 && v[0] == keyFormat
		closer.Close()
		if !ok {
			return pgerror.New(pgerror.FeatureNotSupported, "pebble state table %s has unknown key format %x", dir, v)
		}
		return nil
	}
	if !errors.Is(err, pebble.ErrNotFound) {
		return storageErr("open", dir, err)
	}
	it, err := db.NewIter(nil)
	if err != nil {
		return storageErr("open", dir, err)
	}
	nonEmpty := it.First()
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return storageErr("open", dir, err)
	}
	if nonEmpty {
		return pgerror.New(pgerror.FeatureNotSupported, "pebble state table %s was written in an older key format", dir).
			WithHint("Drop and recreate the materialized view to rebuild its state.")
	}
	if err := db.Set(formatKey, []byte{keyFormat}, pebble.NoSync); err != nil {
		return storageErr("open", dir, err)
	}
	return nil
}

// reserveMemtables takes two memtables' bytes from Options.Budget (if
// set).
func (t *Table) reserveMemtables(size uint64) error {
	b := t.opts.Budget
	if b == nil {
		return nil
	}
	n := 2 * int64(size)
	if !b.TryReserve(n) {
		return pgerror.New(pgerror.OutOfMemory,
			"out of memory: pebble state table %s needs %d bytes for its memtables, state memory limit is %d bytes of which %d in use",
			t.opts.Dir, n, b.Limit(), b.Used()).
			WithHint("Raise the memory limit or use state_backend = 'columnar'.")
	}
	t.memCharge = n
	return nil
}

func (t *Table) releaseMemtables() {
	if t.memCharge > 0 {
		t.opts.Budget.Release(t.memCharge)
		t.memCharge = 0
	}
}

func (t *Table) unrefCache() {
	if t.cache != nil {
		t.cache.Unref()
		t.cache = nil
	}
}

// ValueSchema implements state.Table.
func (t *Table) ValueSchema() *arrow.Schema { return t.codec.Schema() }

// CommittedEpoch implements state.Table.
func (t *Table) CommittedEpoch() state.Epoch {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.committed
}

// Write implements state.Table: the rows go into the pending epoch.
func (t *Table) Write(ctx context.Context, keys [][]byte, ops []state.Op, values arrow.RecordBatch) error {
	if err := state.CheckWrite(t.codec, keys, ops, values); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p := t.pend
	if p == nil {
		return state.ErrClosed
	}
	offs := slices.Grow(t.offs[:0], len(keys)+1)[:len(keys)+1]
	t.offs = offs
	var skip []bool
	if ops != nil {
		skip = slices.Grow(t.skip[:0], len(keys))[:len(keys)]
		t.skip = skip
		for i, op := range ops {
			skip[i] = op == state.OpDelete
		}
	}
	// Rows are encoded into the epoch's arena; pending entries keep slices
	// of it. A full arena is replaced; if rows outgrow the estimate, the
	// arena grows into a new array and earlier slices keep the old one.
	if values != nil {
		if cap(p.arena)-len(p.arena) < 64*len(keys) {
			p.arena = make([]byte, 0, max(256<<10, 64*len(keys)))
		}
		p.arena = t.codec.EncodeRows(p.arena, values, skip, offs)
	}
	for i, k := range keys {
		if skip != nil && skip[i] {
			p.put(k, nil, true)
		} else {
			p.put(k, p.arena[offs[i]:offs[i+1]:offs[i+1]], false)
		}
	}
	return nil
}

// CleanBelow implements state.Table: the epoch's earlier writes below the
// watermark are undone and Commit starts with a range deletion from the
// empty (smallest) key to the watermark.
func (t *Table) CleanBelow(ctx context.Context, watermark []byte) error {
	if t.pend == nil {
		return state.ErrClosed
	}
	if len(watermark) == 0 {
		return nil // nothing is below the smallest key
	}
	t.pend.cleanBelow(watermark)
	return nil
}

// Commit implements state.Table: the pending epoch is applied to Pebble as
// one batch (no WAL; durability comes from Checkpoint).
func (t *Table) Commit(ctx context.Context, e state.Epoch) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return state.ErrClosed
	}
	if e <= t.committed || e == state.MaxEpoch {
		return pgerror.Internal("pebblestate: commit of epoch %d after epoch %d", e, t.committed)
	}
	if p := t.pend; !p.empty() {
		// The writer's kept iterators would read the state before this
		// commit.
		if err := t.wits.committed(); err != nil {
			t.opts.Logger.Warn("pebblestate: close lookup iterator", "err", err)
		}
		var err error
		if t.ingestMin > 0 && p.writes() >= t.ingestMin {
			err = t.ingest(ctx, p, t.appendsOnly(p))
			t.ingested++
		} else {
			err = t.apply(p)
		}
		if err != nil {
			// Pebble may hold part of the epoch (an ingestion's range
			// deletion): the cache forgets everything, and no snapshot of
			// an earlier epoch may use it again.
			if t.rc != nil {
				t.rc.clear()
			}
			t.changedAt = t.committed + 1
			return storageErr("commit", t.opts.Dir, err)
		}
		if t.rc != nil {
			t.rc.committed(p)
		}
		t.changedAt = e
		t.noteMax(p)
		t.pend = p.next()
	}
	t.committed = e
	return nil
}

// Snapshot implements state.Table.
func (t *Table) Snapshot(e state.Epoch) (state.Snapshot, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, state.ErrClosed
	}
	if e > t.committed {
		return nil, pgerror.Internal("pebblestate: snapshot at epoch %d beyond committed epoch %d", e, t.committed)
	}
	ref := t.snaps[e]
	if ref == nil {
		if e != t.committed {
			return nil, pgerror.New(state.SnapshotTooOld, "snapshot too old: epoch %d is no longer retained (committed %d)", e, t.committed)
		}
		ref = &snapRef{ps: t.db.NewSnapshot()}
		t.snaps[e] = ref
	}
	ref.n++
	return &snapshot{t: t, e: e, ref: ref}, nil
}

type snapshot struct {
	t    *Table
	e    state.Epoch
	ref  *snapRef
	once sync.Once
}

func (s *snapshot) Epoch() state.Epoch { return s.e }

func (s *snapshot) Get(ctx context.Context, keys [][]byte) (state.Lookup, error) {
	if s.ref.lmu.TryLock() {
		defer s.ref.lmu.Unlock()
		return s.t.get(ctx, keys, &s.ref.li, s.ref.ps, s.e)
	}
	var l lookupIter
	lk, err := s.t.get(ctx, keys, &l, s.ref.ps, s.e)
	if cerr := l.close(); cerr != nil && err == nil {
		lk.Values.Release()
		return state.Lookup{}, storageErr("read", s.t.opts.Dir, cerr)
	}
	return lk, err
}

func (s *snapshot) Scan(ctx context.Context, r state.KeyRange, fn state.ScanFunc) error {
	return s.t.scan(ctx, r, s.ref.ps, fn)
}

func (s *snapshot) Release() {
	s.once.Do(func() {
		t := s.t
		t.mu.Lock()
		defer t.mu.Unlock()
		if s.ref.n--; s.ref.n > 0 || t.closed {
			return
		}
		if t.snaps[s.e] == s.ref {
			delete(t.snaps, s.e)
		}
		// Readers of the kept iterator hold t.mu's read lock; none runs.
		if err := errors.Join(s.ref.li.close(), s.ref.ps.Close()); err != nil {
			t.opts.Logger.Warn("pebblestate: close snapshot", "err", err)
		}
	})
}

// Stats implements state.Table. Keys is estimated from the sstables'
// properties (entries minus deletions) plus the puts applied since Open
// that are still in memtables, scaled by the flushed share; MemBytes counts
// memtables, the row cache and the block cache when it is private.
func (t *Table) Stats() state.Stats {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.closed {
		return state.Stats{}
	}
	m := t.db.Metrics()
	s := state.Stats{
		MemBytes:  int64(m.MemTable.Size),
		DiskBytes: int64(m.DiskSpaceUsage()),
	}
	if t.cache != nil {
		s.MemBytes += m.BlockCache.Size
	}
	if t.rc != nil {
		s.MemBytes += t.rc.size()
	}
	var sstKeys int64
	if levels, err := t.db.SSTables(pebble.WithProperties()); err == nil {
		for _, lvl := range levels {
			for _, f := range lvl {
				if p := f.Properties; p != nil {
					sstKeys += int64(p.NumEntries) - 2*int64(p.NumDeletions)
				}
			}
		}
	}
	// Memtable entries are unknown; assume the not-yet-flushed share of the
	// puts applied since Open is still there.
	flushed := int64(m.Flush.WriteThroughput.Bytes)
	memKeys := t.applied
	if flushed > 0 && m.MemTable.Size > 0 {
		memKeys = int64(float64(t.applied) * float64(m.MemTable.Size) / float64(uint64(flushed)+m.MemTable.Size))
	} else if flushed > 0 {
		memKeys = 0
	}
	s.Keys = max(sstKeys, 0) + memKeys
	return s
}

// Close implements state.Table: pending writes and commits after the last
// Checkpoint are discarded (the next Open restores the checkpoint).
func (t *Table) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil
	}
	t.closed = true
	var errs []error
	errs = append(errs, t.wits.close())
	for e, ref := range t.snaps {
		errs = append(errs, ref.li.close(), ref.ps.Close())
		delete(t.snaps, e)
	}
	t.pend = nil
	if t.rc != nil {
		t.rc.close()
	}
	errs = append(errs, t.db.Close())
	t.unrefCache()
	t.releaseMemtables()
	if err := errors.Join(errs...); err != nil {
		return storageErr("close", t.opts.Dir, err)
	}
	return nil
}

// storageErr classifies a Pebble error: corruption → XX001, a full disk →
// 53100, anything else → 58030; errors that already carry a SQLSTATE or a
// context error pass through.
func storageErr(op, dir string, err error) error {
	if pgerror.As(err) != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	code := pgerror.IOError
	switch {
	case pebble.IsCorruptionError(err):
		code = pgerror.DataCorrupted
	case errors.Is(err, syscall.ENOSPC):
		code = pgerror.DiskFull
	}
	return pgerror.Wrap(err, code, fmt.Sprintf("pebblestate: %s %s", op, dir))
}

// pebbleLogger routes Pebble's messages to slog. Fatalf is reached only on
// Pebble-internal invariant failures; it logs and panics as Pebble expects.
type pebbleLogger struct{ log *slog.Logger }

func (l pebbleLogger) Infof(format string, args ...any) {
	l.log.Debug("pebble: " + fmt.Sprintf(format, args...))
}
func (l pebbleLogger) Errorf(format string, args ...any) {
	l.log.Warn("pebble: " + fmt.Sprintf(format, args...))
}
func (l pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.log.Error("pebble: " + msg)
	panic("pebble: " + msg)
}
