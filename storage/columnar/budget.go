package columnar

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/storage/state"
)

// Budget is a byte limit shared by the memtables and block caches of every
// table that holds it (the engine's --memory-limit share for state). It is
// safe for concurrent use.
type Budget struct {
	mu       sync.Mutex
	limit    int64
	used     int64
	tables   map[*Table]struct{} // open tables charging this budget
	yielders map[int]Yielder     // soft charges, by registration id
	nextID   int
}

// Yielder gives back up to n bytes of a soft charge — bytes a holder
// reserved to make the tables keep less memory, not bytes it needs to
// proceed (the engine's base-table charge) — releasing them with
// Budget.Release, and returns how many it gave back. The budget calls it
// only when nothing else frees enough: after every cache is shrunk and
// every committed memtable flushed, a write of uncommitted data that still
// does not fit takes the soft charges before failing with 53200. It must
// not call back into the budget's tables.
type Yielder func(n int64) int64

// AddYielder registers y; remove unregisters it.
func (b *Budget) AddYielder(y Yielder) (remove func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.yielders == nil {
		b.yielders = make(map[int]Yielder)
	}
	id := b.nextID
	b.nextID++
	b.yielders[id] = y
	return func() {
		b.mu.Lock()
		delete(b.yielders, id)
		b.mu.Unlock()
	}
}

// NewBudget returns a budget of limit bytes (≤ 0: unlimited).
func NewBudget(limit int64) *Budget { return &Budget{limit: limit} }

// TryReserve takes n bytes if they fit.
func (b *Budget) TryReserve(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.limit > 0 && b.used+n > b.limit {
		return false
	}
	b.used += n
	return true
}

// Reserve takes n bytes, first making the tables sharing the budget give
// memory back (caches, then memtable flushes) if they do not fit. It is how
// holders that cannot spill themselves (memory state tables) charge the
// budget; it reports whether the bytes were taken.
func (b *Budget) Reserve(ctx context.Context, n int64) bool {
	if b.TryReserve(n) {
		return true
	}
	return b.reclaim(ctx, nil, n) && b.TryReserve(n)
}

// Release returns n bytes.
func (b *Budget) Release(n int64) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
}

// Used is the number of reserved bytes.
func (b *Budget) Used() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

func (b *Budget) register(t *Table) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tables == nil {
		b.tables = make(map[*Table]struct{})
	}
	b.tables[t] = struct{}{}
}

func (b *Budget) unregister(t *Table) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.tables, t)
}

// reclaim makes the other tables sharing the budget give memory back until
// n bytes fit: first their block caches, then, largest memtable first,
// flushes of their committed data to disk, and last the soft charges
// (Yielder). It reports whether n now fits.
// It holds no lock while calling into tables, so tables reclaiming from
// each other concurrently cannot deadlock.
func (b *Budget) reclaim(ctx context.Context, self *Table, n int64) bool {
	b.mu.Lock()
	others := make([]*Table, 0, len(b.tables))
	for t := range b.tables {
		if t != self {
			others = append(others, t)
		}
	}
	b.mu.Unlock()
	fits := func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.limit <= 0 || b.used+n <= b.limit
	}
	for _, o := range others {
		if fits() {
			return true
		}
		o.cache.shrink(n)
		o.dropSpare()
	}
	type sized struct {
		t *Table
		n int64
	}
	bySize := make([]sized, len(others))
	for i, o := range others {
		o.mu.RLock()
		bySize[i] = sized{o, o.mem.bytes}
		o.mu.RUnlock()
	}
	slices.SortFunc(bySize, func(x, y sized) int { return cmp.Compare(y.n, x.n) })
	for _, o := range bySize {
		if fits() {
			return true
		}
		if err := o.t.flush(ctx); err != nil && err != errNothingToFlush && !errors.Is(err, state.ErrClosed) {
			o.t.logf("columnar: flush to free the shared budget failed", err)
		}
	}
	if fits() {
		return true
	}
	return b.yield(n)
}

// yield asks the soft charges for what n still lacks and reports whether n
// now fits.
func (b *Budget) yield(n int64) bool {
	b.mu.Lock()
	ys := make([]Yielder, 0, len(b.yielders))
	for _, y := range b.yielders {
		ys = append(ys, y)
	}
	b.mu.Unlock()
	for _, y := range ys {
		b.mu.Lock()
		short := b.used + n - b.limit
		b.mu.Unlock()
		if b.limit <= 0 || short <= 0 {
			return true
		}
		y(short)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.limit <= 0 || b.used+n <= b.limit
}

// Limit is the byte limit (≤ 0: unlimited).
func (b *Budget) Limit() int64 { return b.limit }

func outOfMemory(need int64, b *Budget) error {
	return pgerror.New(pgerror.OutOfMemory, "out of memory: state needs %d more bytes, budget %d bytes of which %d in use",
		need, b.limit, b.Used()).WithHint("Raise the memory limit or commit smaller epochs.")
}
