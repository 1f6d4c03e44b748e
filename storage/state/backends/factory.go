package backends

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/pebble/v2"
	pebblevfs "github.com/cockroachdb/pebble/v2/vfs"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/storage/columnar"
	"github.com/sabotsql/sabotsql/storage/columnar/vfs"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/pebblestate"
)

// Factory opens state tables. The zero value keeps everything in memory
// with an unlimited budget. Set the fields before the first Open and do not
// change them afterwards. Safe for concurrent use.
type Factory struct {
	// Dir is the root directory; table name lives in Dir/name. Empty: every
	// table is kept in memory (tests, embedded use without persistence).
	Dir string
	// Budget bounds the memtables and block caches of every columnar table
	// and the whole of every memory table; the pebble tables' shared block
	// cache is charged to it too (nil: unlimited).
	Budget *columnar.Budget
	// NewFS returns the columnar filesystem rooted at a table's directory
	// (default vfs.NewOS; tests inject vfs.NewFault here).
	NewFS func(dir string) (vfs.FS, error)
	// PebbleFS is the pebble backend's filesystem (default the OS).
	PebbleFS pebblevfs.FS
	// PebbleCacheSize is the block cache shared by pebble tables (default
	// 32 MiB, at most a quarter of Budget's limit). The cache is charged to
	// Budget when it is created (if it fits) and released by Close.
	PebbleCacheSize int64
	// PebbleMemTableSize is each pebble table's memtable size (default
	// 4 MiB, at most a sixteenth of Budget's limit, at least 256 KiB).
	PebbleMemTableSize uint64
	// PebbleIngestMinKeys is pebblestate.Options.IngestMinKeys for every
	// pebble table (0: that package's default).
	PebbleIngestMinKeys int
	// Columnar is the template for columnar tables' options; FS, Budget,
	// Allocator and Logger are filled in by the Factory.
	Columnar columnar.Options
	// Allocator builds the batches tables return (default Go allocator).
	Allocator memory.Allocator
	// Logger receives background errors (default slog.Default()).
	Logger *slog.Logger

	mu           sync.Mutex
	pebbleCache  *pebble.Cache
	pebbleCharge int64             // bytes of Budget the shared cache holds
	memFS        map[string]vfs.FS // Dir == "": columnar filesystems by name
	pebbleMemFS  pebblevfs.FS      // Dir == "": one MemFS for every pebble table
}

// Open opens (or creates) table name of the given kind (empty: the default,
// columnar) with the value schema, recovering its last checkpoint if it has
// one. Name must be a single path element. The caller closes the table;
// persistent tables also implement state.Checkpointer. Memory tables charge
// what they hold to Budget (a write that does not fit is 53200, after the
// columnar tables sharing the budget have spilled what they can); pebble
// tables are bounded by Pebble's own memtable and cache sizes and their
// row caches (the shared cache is charged to Budget once, each row cache
// as it fills, memtables are not).
func (f *Factory) Open(ctx context.Context, kind state.BackendKind, name string, valueSchema *arrow.Schema) (state.Table, error) {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return nil, pgerror.Internal("state backends: table name %q is not a single path element", name)
	}
	alloc, logger := f.Allocator, f.Logger
	if alloc == nil {
		alloc = memory.NewGoAllocator()
	}
	if logger == nil {
		logger = slog.Default()
	}
	switch kind {
	case state.BackendMemory:
		return state.OpenMemoryTable(valueSchema, state.MemoryOptions{Name: name, Allocator: alloc, Budget: f.sharedUnlimited()})
	case state.BackendPebble:
		fs, cache := f.pebbleEnv()
		dir := name
		if f.Dir != "" {
			dir = filepath.Join(f.Dir, name)
		}
		opts := pebblestate.Options{
			Dir: dir, FS: fs, Cache: cache, Allocator: alloc, Logger: logger,
			MemTableSize: f.pebbleMemTableSize(), IngestMinKeys: f.PebbleIngestMinKeys,
		}
		if f.Budget != nil {
			// The row cache is charged (a nil *Budget must not become a
			// non-nil interface).
			opts.Budget = f.Budget
		}
		return pebblestate.Open(ctx, valueSchema, opts)
	case "", state.BackendColumnar:
		fs, err := f.columnarFS(name)
		if err != nil {
			return nil, err
		}
		o := f.Columnar
		o.FS, o.Budget, o.Allocator, o.Logger = fs, f.Budget, alloc, logger
		if o.Budget == nil {
			o.Budget = f.sharedUnlimited()
		}
		return columnar.Open(ctx, valueSchema, o)
	}
	_, err := state.ParseBackend(string(kind))
	return nil, err
}

// sharedUnlimited gives columnar and memory tables one unlimited budget
// when none was set, so Used still reports their total.
func (f *Factory) sharedUnlimited() *columnar.Budget {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Budget == nil {
		f.Budget = columnar.NewBudget(0)
	}
	return f.Budget
}

func (f *Factory) columnarFS(name string) (vfs.FS, error) {
	if f.Dir == "" {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.memFS == nil {
			f.memFS = make(map[string]vfs.FS)
		}
		fs := f.memFS[name]
		if fs == nil {
			fs = vfs.NewMem()
			f.memFS[name] = fs
		}
		return fs, nil
	}
	newFS := f.NewFS
	if newFS == nil {
		newFS = func(dir string) (vfs.FS, error) { return vfs.NewOS(dir) }
	}
	fs, err := newFS(filepath.Join(f.Dir, name))
	if err != nil {
		return nil, pgerror.Wrap(err, pgerror.IOError, "state backends: open table directory")
	}
	return fs, nil
}

func (f *Factory) pebbleEnv() (pebblevfs.FS, *pebble.Cache) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pebbleCache == nil {
		size := f.PebbleCacheSize
		if size <= 0 {
			size = defaultPebbleCache
			if lim := f.budgetLimit(); lim > 0 {
				size = max(min(size, lim/4), minPebbleCache)
			}
		}
		if f.Budget == nil {
			f.Budget = columnar.NewBudget(0) // so Used reports the cache
		}
		if f.Budget.TryReserve(size) {
			f.pebbleCharge = size
		} else {
			f.logger().Warn("state backends: the pebble block cache does not fit the state budget; not charged",
				"cache", size, "used", f.Budget.Used(), "limit", f.Budget.Limit())
		}
		f.pebbleCache = pebble.NewCache(size)
	}
	fs := f.PebbleFS
	if f.Dir == "" && fs == nil {
		if f.pebbleMemFS == nil {
			f.pebbleMemFS = pebblevfs.NewMem()
		}
		fs = f.pebbleMemFS
	}
	return fs, f.pebbleCache
}

const (
	defaultPebbleCache    = 32 << 20
	minPebbleCache        = 1 << 20
	defaultPebbleMemTable = 4 << 20
	minPebbleMemTable     = 256 << 10
)

// budgetLimit is Budget's limit (0: none or unlimited).
func (f *Factory) budgetLimit() int64 {
	if f.Budget == nil {
		return 0
	}
	return f.Budget.Limit()
}

func (f *Factory) pebbleMemTableSize() uint64 {
	if f.PebbleMemTableSize > 0 {
		return f.PebbleMemTableSize
	}
	size := int64(defaultPebbleMemTable)
	f.mu.Lock()
	lim := f.budgetLimit()
	f.mu.Unlock()
	if lim > 0 {
		size = max(min(size, lim/16), minPebbleMemTable)
	}
	return uint64(size)
}

func (f *Factory) logger() *slog.Logger {
	if f.Logger != nil {
		return f.Logger
	}
	return slog.Default()
}

// Remove deletes every table whose name starts with prefix: the
// directories under Dir, or, with Dir == "", the in-memory filesystems
// that would otherwise keep a dropped table's data for the life of the
// Factory. Close the tables first; an empty prefix is refused.
func (f *Factory) Remove(prefix string) error {
	if prefix == "" || strings.ContainsAny(prefix, `/\*?[`) {
		return pgerror.Internal("state backends: bad table name prefix %q", prefix)
	}
	if f.Dir != "" {
		names, err := filepath.Glob(filepath.Join(f.Dir, prefix+"*"))
		if err != nil {
			return fmt.Errorf("state backends: list tables %q: %w", prefix, err)
		}
		for _, n := range names {
			if err := os.RemoveAll(n); err != nil {
				return fmt.Errorf("state backends: remove table: %w", err)
			}
		}
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for name := range f.memFS {
		if strings.HasPrefix(name, prefix) {
			delete(f.memFS, name)
		}
	}
	if f.pebbleMemFS != nil && f.PebbleFS == nil {
		names, err := f.pebbleMemFS.List("")
		if err != nil {
			return fmt.Errorf("state backends: list pebble tables: %w", err)
		}
		for _, n := range names {
			if strings.HasPrefix(n, prefix) {
				if err := f.pebbleMemFS.RemoveAll(n); err != nil {
					return fmt.Errorf("state backends: remove pebble table: %w", err)
				}
			}
		}
	}
	return nil
}

// Close releases the shared Pebble cache (and its Budget charge). Close
// the tables first.
func (f *Factory) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pebbleCache != nil {
		f.pebbleCache.Unref()
		f.pebbleCache = nil
		f.Budget.Release(f.pebbleCharge)
		f.pebbleCharge = 0
	}
	return nil
}
