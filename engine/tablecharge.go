package engine

import (
	"sync"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sabotsql/sabotsql/storage/columnar"
	"github.com/sabotsql/sabotsql/storage/memtable"
)

// tableCharge charges the in-memory rows of the base tables to the state
// budget (the columnar share of MemoryLimit), up to a cap, so the state
// tables' memtables and block caches shrink as the tables grow instead of
// both growing into the Go heap.
//
// Why: base tables live in memory and were not charged to anything. In
// the issue #6 bigagg run at 20M keys and 512MiB the 25M-row table held
// 212 MB of the ~600 MB live heap while the state share (192 MB) stayed
// full of cached blocks, and the live heap reached the runtime's soft
// limit (768 MiB), so peak RSS went past 1 GiB. Charging the table makes
// the state tables keep fewer cached blocks and memtable bytes.
//
// The charge is capped (tableChargeCap: half the state share) and soft: it
// is registered as the budget's Yielder, so a view write of uncommitted
// data that does not fit once every cache is shrunk and every committed
// memtable flushed takes it back (yield) instead of failing the view with
// 53200; settle takes it again as the budget frees up. Before it yielded,
// a 20M-key bigagg run on a quiet machine failed both views with 53200 in
// its first seconds (inserts ran ahead, the epochs' uncommitted spills
// outgrew the uncharged half). The rows above the cap stay uncharged
// headroom, as before.
//
// Bytes are what the tables' appended batches hold (their buffers); rows
// deleted later keep their memory until the table is truncated or
// dropped, and so keep their charge. The reservation is adjusted by
// settle, off the statement path (the barrier loop calls it).
type tableCharge struct {
	budget *columnar.Budget
	limit  int64 // the cap

	settleMu sync.Mutex // one settle at a time

	mu      sync.Mutex
	bytes   map[*memtable.Table]int64
	total   int64
	charged int64 // reserved in budget
	yielded int64 // given back to writes over the charge's life (yield)
}

// tableChargeCap is the most of the state share base tables are charged:
// half of it, so views keep the other half for their epochs' writes.
func tableChargeCap(state int64) int64 { return state / 2 }

func newTableCharge(b *columnar.Budget, limit int64) *tableCharge {
	c := &tableCharge{budget: b, limit: limit, bytes: map[*memtable.Table]int64{}}
	if b != nil {
		// The budget belongs to the engine, as the charge does: no need
		// to unregister.
		b.AddYielder(c.yield)
	}
	return c
}

// yield gives back up to n bytes of the reservation (columnar.Yielder).
func (c *tableCharge) yield(n int64) int64 {
	c.settleMu.Lock()
	defer c.settleMu.Unlock()
	c.mu.Lock()
	give := min(n, c.charged)
	c.charged -= give
	c.yielded += give
	c.mu.Unlock()
	if give > 0 {
		c.budget.Release(give)
	}
	return give
}

// Yielded is the bytes the charge has given back to writes so far.
func (c *tableCharge) Yielded() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.yielded
}

// appended records rows appended to store.
func (c *tableCharge) appended(store *memtable.Table, b arrow.RecordBatch) {
	if c == nil || b == nil {
		return
	}
	n := recordBytes(b)
	c.mu.Lock()
	c.bytes[store] += n
	c.total += n
	c.mu.Unlock()
}

// emptied records that store holds no rows any more (truncated, dropped,
// or replaced by a rewrite).
func (c *tableCharge) emptied(store *memtable.Table) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.total -= c.bytes[store]
	delete(c.bytes, store)
	c.mu.Unlock()
}

// Total is the bytes of every table's appended rows.
func (c *tableCharge) Total() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// Charged is the bytes currently reserved in the state budget.
func (c *tableCharge) Charged() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.charged
}

// settle moves the reservation toward min(Total, cap). It only takes
// budget that is free: the state tables' block caches fill the budget and
// give it up as their memtables need it, and memtables free it when they
// flush, so the charge grows as the state tables let go of memory, without
// forcing flushes (forcing them with Budget.Reserve cut the 5M-key bigagg
// throughput by a quarter: many small runs to compact). Changes under
// 1 MiB are left for later (except reaching the cap or zero), so most
// calls do nothing. The barrier loop calls it every tick.
func (c *tableCharge) settle() {
	if c == nil || c.budget == nil {
		return
	}
	c.settleMu.Lock()
	defer c.settleMu.Unlock()
	c.mu.Lock()
	want := min(c.total, c.limit)
	have := c.charged
	c.mu.Unlock()
	const step = 1 << 20
	d := want - have
	if d > 0 {
		if lim := c.budget.Limit(); lim > 0 {
			d = min(d, lim-c.budget.Used())
		}
		if (d >= step || (d > 0 && have+d == want)) && c.budget.TryReserve(d) {
			c.mu.Lock()
			c.charged += d
			c.mu.Unlock()
		}
		return
	}
	if d <= -step || (d < 0 && want == 0) {
		c.budget.Release(-d)
		c.mu.Lock()
		c.charged += d
		c.mu.Unlock()
	}
}

// recordBytes is the size of a batch's buffers.
func recordBytes(b arrow.RecordBatch) int64 {
	var n int64
	for _, col := range b.Columns() {
		n += dataBytes(col.Data())
	}
	return n
}

func dataBytes(d arrow.ArrayData) int64 {
	if d == nil {
		return 0
	}
	var n int64
	for _, buf := range d.Buffers() {
		if buf != nil {
			n += int64(buf.Len())
		}
	}
	for _, ch := range d.Children() {
		n += dataBytes(ch)
	}
	if d.DataType().ID() == arrow.DICTIONARY {
		n += dataBytes(d.Dictionary())
	}
	return n
}

// storeAppend appends b to a table's store and charges its bytes.
func (e *Engine) storeAppend(store *memtable.Table, b arrow.RecordBatch) ([]int64, error) {
	ids, err := store.Append(b)
	if err == nil {
		e.tcharge.appended(store, b)
	}
	return ids, err
}

// storeTruncate empties a table's store and drops its charge.
func (e *Engine) storeTruncate(store *memtable.Table) {
	store.Truncate()
	e.tcharge.emptied(store)
}
