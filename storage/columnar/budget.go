package columnar

import (
	"sync"

	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// Budget is a byte limit shared by the memtables and block caches of every
// table that holds it (the engine's --memory-limit share for state). It is
// safe for concurrent use.
type Budget struct {
	mu    sync.Mutex
	limit int64
	used  int64
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

// Limit is the byte limit (≤ 0: unlimited).
func (b *Budget) Limit() int64 { return b.limit }

func outOfMemory(need int64, b *Budget) error {
	return pgerror.New(pgerror.OutOfMemory, "out of memory: state needs %d more bytes, budget %d bytes of which %d in use",
		need, b.limit, b.Used()).WithHint("Raise the memory limit or commit smaller epochs.")
}
