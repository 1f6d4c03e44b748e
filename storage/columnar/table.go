package columnar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/storage/columnar/vfs"
	"github.com/sabotsql/sabotsql/storage/state"
)

// Options configure a Table. Zero values take the defaults.
type Options struct {
	// FS receives every file operation (required).
	FS vfs.FS
	// Manifests persists the manifest; default FileManifestStore{FS}.
	Manifests ManifestStore
	// Budget bounds memtable and block cache bytes; default unlimited.
	Budget *Budget
	// MemtableSize is the committed-data size that triggers a flush
	// (default 64 MiB).
	MemtableSize int64
	// BlockRows is the target rows per block (default 256). A point lookup
	// that misses the cache reads, checksums and searches one whole block,
	// so smaller blocks make it cheaper (1M keys of ~35-byte entries,
	// CPU per uncached lookup: 4.0-4.3 µs at 128 rows, 4.5-4.6 at 256,
	// 5.0-5.2 at 512, 6.7-7.3 at 1024; 10M keys: 5.1 at 256, 8.0 at 1024,
	// and 3.8 instead of 5.2 µs per key of a 4096-key batch); below 256
	// the per-block costs (index entries, IPC framing, encoding) start to
	// show in flushes and merges (128 rows: ~40% slower merges, +5% disk).
	BlockRows int
	// CacheSize caps this table's block cache (default: only the budget
	// bounds it, or 256 MiB when the budget is unlimited).
	CacheSize int64
	// CompactionTrigger is the number of similar-sized runs that triggers a
	// compaction (default 4).
	CompactionTrigger int
	// DisableAutoCompaction turns the background compactor off; Compact
	// still works.
	DisableAutoCompaction bool
	// Allocator builds the batches returned by reads (default Go allocator).
	Allocator memory.Allocator
	// Logger receives background errors (default slog.Default()).
	Logger *slog.Logger
}

func (o *Options) fill() {
	if o.Manifests == nil {
		o.Manifests = FileManifestStore{FS: o.FS}
	}
	if o.Budget == nil {
		o.Budget = NewBudget(0)
	}
	if o.CacheSize == 0 && o.Budget.Limit() <= 0 {
		o.CacheSize = 256 << 20
	}
	if o.MemtableSize <= 0 {
		o.MemtableSize = 64 << 20
	}
	if o.BlockRows <= 0 {
		o.BlockRows = 256
	}
	if o.CompactionTrigger < 2 {
		o.CompactionTrigger = 4
	}
	if o.Allocator == nil {
		o.Allocator = memory.NewGoAllocator()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// rangeDel hides every version with key < End and epoch < Epoch from
// readers at epochs ≥ Epoch.
type rangeDel struct {
	End   []byte `json:"end"`
	Epoch uint64 `json:"epoch"`
}

// Table is the columnar backend's state table. See the package doc.
type Table struct {
	opts  Options
	codec *state.RowCodec
	cache *blockCache

	mu           sync.RWMutex // guards the read state below
	mem          *memtable
	frozen       []*frozenMem // newest first
	runs         []*run       // newest first
	rds          []rangeDel
	committed    state.Epoch
	flushedEpoch state.Epoch // data of every epoch ≤ this is in runs
	nextID       uint64
	pins         map[state.Epoch]int
	durableRuns  map[uint64]bool // runs named by the stored manifest
	obsolete     []*run          // out of the live set, still named by the stored manifest
	closed       bool

	// The pending epoch: the writer's versions sit in the memtable stamped
	// uncommitted; touched lists their entries.
	touched  []uint32 // memtable entry ids
	cleanBel []byte   // CleanBelow watermark of the pending epoch
	hasClean bool
	arena    []byte   // writer-only scratch for encoding rows
	offs     []int    // writer-only: row offsets into arena
	skip     []bool   // writer-only: rows not to encode (deletes)
	ens      []uint32 // writer-only: Write's looked-up entry ids
	added    []bool   // writer-only: Write's rows that added their entry

	bufPool sync.Pool // *[]byte read buffers lent to lookups (readBufs)

	// Entries written by flushes, and read and written by compactions,
	// since Open (write amplification, for benchmarks and monitoring).
	flushedEntries, compactedIn, compactedOut atomic.Int64

	flushMu    sync.Mutex // serializes flushes
	manifestMu sync.Mutex // serializes manifest stores
	compactMu  sync.Mutex // serializes compactions
	compactCh  chan struct{}
	cancel     context.CancelFunc
	wg         sync.WaitGroup
}

var _ state.Table = (*Table)(nil)

// Open opens (or creates) the table stored in opts.FS, recovering the state
// of its last checkpoint: runs named by the manifest are opened and
// verified, files the manifest does not name are removed.
func Open(ctx context.Context, valueSchema *arrow.Schema, opts Options) (*Table, error) {
	if opts.FS == nil {
		return nil, pgerror.Internal("columnar: Options.FS is required")
	}
	opts.fill()
	codec, err := state.NewRowCodec(valueSchema)
	if err != nil {
		return nil, err
	}
	t := &Table{
		opts:        opts,
		codec:       codec,
		cache:       newBlockCache(opts.Budget, opts.CacheSize),
		mem:         newMemtable(),
		pins:        make(map[state.Epoch]int),
		durableRuns: make(map[uint64]bool),
		compactCh:   make(chan struct{}, 1),
		nextID:      1,
	}
	m, ok, err := opts.Manifests.Load(ctx)
	if err != nil {
		return nil, err
	}
	if ok {
		t.committed = state.Epoch(m.DurableEpoch)
		t.flushedEpoch = t.committed
		t.nextID = max(m.NextFileID, 1)
		t.rds = m.RangeDels
		for _, ri := range m.Runs {
			r, err := openRun(opts.FS, ri)
			if err != nil {
				t.closeRuns()
				return nil, err
			}
			r.synced = true
			t.runs = append(t.runs, r)
			t.durableRuns[ri.ID] = true
		}
	}
	if err := t.removeOrphans(); err != nil {
		t.closeRuns()
		return nil, err
	}
	opts.Budget.register(t)
	bg, cancel := context.WithCancel(context.Background())
	t.cancel = cancel
	if !opts.DisableAutoCompaction {
		t.wg.Add(1)
		go t.compactLoop(bg)
		t.maybeCompact()
	}
	return t, nil
}

// removeOrphans deletes run files and temporaries no manifest names: runs
// flushed or compacted after the last checkpoint of a crashed process.
func (t *Table) removeOrphans() error {
	names, err := t.opts.FS.List()
	if err != nil {
		return ioErr(err, "list", "table directory")
	}
	live := make(map[string]bool)
	for _, r := range t.runs {
		live[r.info.File] = true
	}
	for _, n := range names {
		if (strings.HasSuffix(n, ".run") || strings.HasSuffix(n, ".tmp")) && !live[n] {
			if err := t.opts.FS.Remove(n); err != nil {
				return ioErr(err, "remove", n)
			}
		}
	}
	return nil
}

func (t *Table) closeRuns() {
	for _, r := range t.runs {
		_ = r.close()
	}
	for _, r := range t.obsolete {
		_ = r.close()
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

func (t *Table) pinnedLocked() []state.Epoch {
	if len(t.pins) == 0 {
		return nil
	}
	p := make([]state.Epoch, 0, len(t.pins))
	for e := range t.pins {
		p = append(p, e)
	}
	slices.Sort(p)
	return p
}

// Snapshot implements state.Table.
func (t *Table) Snapshot(e state.Epoch) (state.Snapshot, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, state.ErrClosed
	}
	if e > t.committed {
		return nil, pgerror.Internal("columnar: snapshot at epoch %d beyond committed epoch %d", e, t.committed)
	}
	if e != t.committed && t.pins[e] == 0 {
		return nil, pgerror.New(state.SnapshotTooOld, "snapshot too old: epoch %d is no longer retained (committed %d)", e, t.committed)
	}
	t.pins[e]++
	return &snapshot{t: t, e: e}, nil
}

type snapshot struct {
	t    *Table
	e    state.Epoch
	once sync.Once
}

func (s *snapshot) Epoch() state.Epoch { return s.e }

func (s *snapshot) Get(ctx context.Context, keys [][]byte) (state.Lookup, error) {
	return s.t.get(ctx, keys, s.e, false)
}

func (s *snapshot) Scan(ctx context.Context, r state.KeyRange, fn state.ScanFunc) error {
	return s.t.scan(ctx, r, s.e, false, fn)
}

func (s *snapshot) Release() {
	s.once.Do(func() {
		t := s.t
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.pins[s.e]--; t.pins[s.e] <= 0 {
			delete(t.pins, s.e)
		}
	})
}

// Close implements state.Table: it stops compaction and closes the files.
// Committed data after the last Checkpoint is not persisted.
func (t *Table) Close() error {
	t.opts.Budget.unregister(t)
	t.cancel()
	t.wg.Wait()
	// Wait for a flush another table's budget reclaim may have started.
	t.flushMu.Lock()
	defer t.flushMu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil
	}
	t.closed = true
	t.closeRuns()
	t.runs, t.obsolete = nil, nil
	t.cache.clear()
	b := t.opts.Budget
	b.Release(t.mem.bytes + t.mem.prepaid)
	for _, fm := range t.frozen {
		b.Release(fm.bytes)
	}
	t.mem, t.frozen, t.touched = newMemtable(), nil, nil
	return nil
}

// Shape describes a table's LSM structure, for tests and monitoring.
type Shape struct {
	Runs, Frozen, RangeDels int
	MemtableBytes           int64
	RunBytes                int64
	Entries                 int64
}

// Shape returns the current LSM structure.
func (t *Table) Shape() Shape {
	t.mu.RLock()
	defer t.mu.RUnlock()
	s := Shape{Runs: len(t.runs), Frozen: len(t.frozen), RangeDels: len(t.rds), MemtableBytes: t.mem.bytes}
	for _, r := range t.runs {
		s.RunBytes += r.info.Size
		s.Entries += r.info.Entries
	}
	return s
}

// Stats implements state.Table. Keys is an upper-bound estimate: memtable
// keys plus the entries (versions and tombstones included) of frozen
// memtables and runs, so keys present in several sources count once per
// source until compaction merges them. MemBytes is the budget charge of the
// memtables plus this table's cached blocks; DiskBytes the run files.
func (t *Table) Stats() state.Stats {
	t.mu.RLock()
	defer t.mu.RUnlock()
	s := state.Stats{Keys: int64(t.mem.idx.Len()), MemBytes: t.mem.bytes + t.cache.bytes()}
	for _, fm := range t.frozen {
		s.MemBytes += fm.bytes
		s.Keys += int64(len(fm.ord))
	}
	for _, r := range t.runs {
		s.DiskBytes += r.info.Size
		s.Keys += r.info.Entries
	}
	return s
}

var errNothingToFlush = errors.New("columnar: nothing to flush")

func (t *Table) logf(msg string, err error) {
	t.opts.Logger.Warn(msg, slog.String("err", fmt.Sprint(err)))
}

var _ state.Checkpointer = (*Table)(nil)
