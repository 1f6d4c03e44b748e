package state

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// MemoryBudget is the byte budget a memory table charges what it holds to:
// the engine's state budget shared with the columnar tables
// (*columnar.Budget implements it). Implementations are safe for
// concurrent use.
type MemoryBudget interface {
	// TryReserve takes n bytes if they fit.
	TryReserve(n int64) bool
	// Release returns n bytes.
	Release(n int64)
	// Limit is the byte limit (≤ 0: unlimited).
	Limit() int64
	// Used is the number of reserved bytes.
	Used() int64
}

// BudgetReclaimer is optionally implemented by a MemoryBudget that can make
// its other holders (spillable tables) give memory back: Reserve takes n
// bytes, reclaiming first if they do not fit, and reports whether it did.
type BudgetReclaimer interface {
	Reserve(ctx context.Context, n int64) bool
}

// MemoryOptions configures OpenMemoryTable.
type MemoryOptions struct {
	// Name names the table in errors (optional).
	Name string
	// Allocator builds returned batches (default memory.DefaultAllocator).
	Allocator memory.Allocator
	// Budget is charged with the bytes the table holds; a write that does
	// not fit fails with 53200. Nil: unlimited and uncharged.
	Budget MemoryBudget
	// CompactMin is the garbage (bytes of overwritten keys or values) below
	// which the table never rewrites an arena (default 1 MiB); beyond it an
	// arena is rewritten once garbage is half its size.
	CompactMin int64
	// OrderDropMin is the number of keys added or removed since the last
	// scan below which the table keeps its key order (default 64 Ki);
	// beyond it, and beyond the order's size, the order is dropped and
	// rebuilt by the next scan. Tests lower both to exercise these paths.
	OrderDropMin int
}

// chargeQuantum is the granularity of budget reservations, so a table takes
// the budget's lock about once per quantum of growth, not once per write.
const chargeQuantum = 1 << 20

// memCharge tracks a memory table's reservation on its budget. The owner's
// write lock guards it.
type memCharge struct {
	budget   MemoryBudget
	name     string
	reserved int64 // bytes held on budget
}

// ensure makes the reservation cover need bytes, reserving in quanta;
// 53200 naming the table and the limit if the budget cannot give them.
func (c *memCharge) ensure(ctx context.Context, need int64) error {
	if c.budget == nil || need <= c.reserved {
		return nil
	}
	want := need - c.reserved
	qu := c.quantum()
	q := (want + qu - 1) / qu * qu
	for _, n := range []int64{q, want} {
		if c.budget.TryReserve(n) {
			c.reserved += n
			return nil
		}
	}
	if r, ok := c.budget.(BudgetReclaimer); ok && r.Reserve(ctx, want) {
		c.reserved += want
		return nil
	}
	name := c.name
	if name == "" {
		name = "(unnamed)"
	}
	return pgerror.New(pgerror.OutOfMemory,
		"out of memory: memory state table %s needs %d more bytes, state memory limit is %d bytes of which %d in use",
		name, want, c.budget.Limit(), c.budget.Used()).
		WithHint("Raise the memory limit, use state_backend = 'columnar' (which spills to disk), or commit smaller epochs.")
}

// quantum is chargeQuantum, or 1/64 of a small limit, so slack held by
// memory tables stays a small part of the budget.
func (c *memCharge) quantum() int64 {
	if l := c.budget.Limit(); l > 0 {
		return max(min(chargeQuantum, l/64), 1)
	}
	return chargeQuantum
}

// trim returns reservation beyond used plus one quantum of slack.
func (c *memCharge) trim(used int64) {
	if c.budget == nil {
		return
	}
	if extra := c.reserved - used - c.quantum(); extra > 0 {
		c.budget.Release(extra)
		c.reserved -= extra
	}
}

// releaseAll returns the whole reservation (Close).
func (c *memCharge) releaseAll() {
	if c.budget != nil && c.reserved > 0 {
		c.budget.Release(c.reserved)
	}
	c.reserved = 0
}
