package stream

import (
	"fmt"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/cockroachdb/apd/v3"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Memory accounting of streaming state.
//
// The stateful executors (HashJoin, AsOfJoin, TopN, GroupTopN, OverWindow,
// SetOp, Session, DynamicFilter, EOWC; Hop for its in-flight expansion)
// keep their state in Go memory. Each keeps a running estimate of it
// (StateBytes: retained Arrow batches by buffer length, hash and key
// tables by capacity × entry size, boxed rows by datumBytes), updated
// incrementally so reading it is O(1), and brings its reservation with
// its MemBudget to that estimate after every chunk it absorbs (and after
// barriers and watermarks that clean state up).
//
// Invariants:
//  1. An executor's reservation equals its StateBytes after every chunk it
//     absorbed without error (Hop: the bytes of the chunk it last
//     returned); it never releases more than it reserved.
//  2. A refused reservation surfaces from Next as a *pgerror.Error with
//     SQLSTATE 53200 that names the executor and wraps the budget's error
//     (which names the limit). The state may then exceed the reservation
//     by at most the last chunk's growth; the executor is not usable
//     afterwards except for Close.
//  3. Close releases the whole reservation.
//  4. Estimates track real heap use within a small factor (the
//     membudget_heap tests hold them to 0.5×–3× of the heap's growth).

// MemBudget is the memory account a stateful streaming executor charges
// for the state it keeps in Go memory (retained batches, hash tables,
// ordered trees, boxed rows).
//
// Contract:
//   - Reserve(n) adds n > 0 bytes to the account, or reserves nothing and
//     returns an error. An error for an exhausted budget is a
//     *pgerror.Error with SQLSTATE 53200 (out of memory) whose message
//     names the limit; executors return it (wrapped with %w, keeping the
//     code) from Next.
//   - Release(n) gives back n > 0 bytes reserved before.
//   - Implementations must be safe for concurrent use: views run on their
//     own goroutines and may share one budget.
//
// A nil MemBudget means unlimited and nothing is counted.
type MemBudget interface {
	Reserve(n int64) error
	Release(n int64)
}

// GrowShrinker is an account with exec.MemAccount's methods: Grow reserves
// or fails with SQLSTATE 53200, Shrink releases.
type GrowShrinker interface {
	Grow(n int64) error
	Shrink(n int64)
}

// AccountBudget adapts an exec.MemAccount (or any GrowShrinker) to
// MemBudget. The account's 53200 error is kept as the cause; its detail,
// which names the limit, is moved into the message so it survives callers
// that print only the message.
func AccountBudget(a GrowShrinker) MemBudget { return accountBudget{a} }

type accountBudget struct{ a GrowShrinker }

func (b accountBudget) Reserve(n int64) error {
	err := b.a.Grow(n)
	if err == nil {
		return nil
	}
	if pe := pgerror.As(err); pe != nil && pe.Code == pgerror.OutOfMemory && pe.Detail != "" {
		e := pgerror.Wrap(err, pgerror.OutOfMemory, "")
		e.Message = pe.Message + ": " + pe.Detail
		return e
	}
	return err
}

func (b accountBudget) Release(n int64) { b.a.Shrink(n) }

// MemLimit is a MemBudget with a limit in bytes, optionally drawing on a
// parent budget as well (a per-view limit inside a server-wide one). It is
// safe for concurrent use.
type MemLimit struct {
	name   string
	limit  int64 // <= 0: no limit of its own
	parent MemBudget
	used   atomic.Int64
	peak   atomic.Int64
}

// NewMemLimit returns a budget of limit bytes (<= 0: unlimited) named name
// in its errors ("materialized view v1", say), charging parent too when
// parent is not nil.
func NewMemLimit(name string, limit int64, parent MemBudget) *MemLimit {
	return &MemLimit{name: name, limit: limit, parent: parent}
}

// Reserve implements MemBudget.
func (m *MemLimit) Reserve(n int64) error {
	if n <= 0 {
		return nil
	}
	u := m.used.Add(n)
	if m.limit > 0 && u > m.limit {
		m.used.Add(-n)
		return pgerror.New(pgerror.OutOfMemory, "out of memory: %s needs more than its memory limit of %d bytes", m.name, m.limit).
			WithHint("Raise the memory limit, or reduce the state the query keeps (narrower keys, a watermark, a smaller window).")
	}
	if m.parent != nil {
		if err := m.parent.Reserve(n); err != nil {
			m.used.Add(-n)
			return err
		}
	}
	for {
		p := m.peak.Load()
		if u <= p || m.peak.CompareAndSwap(p, u) {
			break
		}
	}
	return nil
}

// Release implements MemBudget.
func (m *MemLimit) Release(n int64) {
	if n <= 0 {
		return
	}
	m.used.Add(-n)
	if m.parent != nil {
		m.parent.Release(n)
	}
}

// Used is the number of bytes reserved now.
func (m *MemLimit) Used() int64 { return m.used.Load() }

// Peak is the largest number of bytes reserved at once.
func (m *MemLimit) Peak() int64 { return m.peak.Load() }

// memCharge is one executor's standing with its MemBudget: the bytes it
// holds reserved. set brings the reservation to the executor's current
// estimate; release gives everything back (Close).
type memCharge struct {
	budget MemBudget
	held   int64
	what   string // the executor, in errors: "hash join"
}

// set reserves or releases the difference between n and the bytes held.
// On failure the reservation stays as it was and the error is a 53200
// *pgerror.Error wrapping the budget's (or the budget's own error, wrapped,
// if it is of another kind).
func (c *memCharge) set(n int64) error {
	if c.budget == nil {
		return nil
	}
	switch d := n - c.held; {
	case d > 0:
		if err := c.budget.Reserve(d); err != nil {
			if pgerror.CodeOf(err) == pgerror.OutOfMemory {
				return pgerror.Wrap(err, pgerror.OutOfMemory, fmt.Sprintf("streaming %s state of %d bytes", c.what, n))
			}
			return fmt.Errorf("stream: %s memory budget: %w", c.what, err)
		}
	case d < 0:
		c.budget.Release(-d)
	}
	c.held = n
	return nil
}

// release returns every reserved byte.
func (c *memCharge) release() {
	if c.budget != nil && c.held > 0 {
		c.budget.Release(c.held)
	}
	c.held = 0
}

// Size estimates of Go structures (64-bit).
const (
	ifaceBytes    = 16 // an interface value (a Datum)
	sliceBytes    = 24 // a slice header
	stringBytes   = 16 // a string header
	ptrBytes      = 8
	mapEntryBytes = 48 // a map entry's share of its table, beyond key and value
	// otNodeBytes is an ordTree entry beyond its key and values: the node
	// (key, vals header, counts) and its leaf slot (prefix, key header and
	// pointer) at the tree's typical fill.
	otNodeBytes = 80 + 48
)

// batchBytes is the memory a retained batch holds: the lengths of all its
// buffers (shared buffers are counted once per batch that retains them).
func batchBytes(b arrow.RecordBatch) int64 {
	if b == nil {
		return 0
	}
	var n int64
	for _, c := range b.Columns() {
		n += arrayDataBytes(c.Data())
	}
	return n
}

func arrayDataBytes(d arrow.ArrayData) int64 {
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
		n += arrayDataBytes(ch)
	}
	if d.DataType().ID() == arrow.DICTIONARY {
		n += arrayDataBytes(d.Dictionary())
	}
	return n
}

// datumBytes estimates the memory of one boxed Datum: the interface value
// plus what it points to.
func datumBytes(d types.Datum) int64 {
	switch v := d.(type) {
	case nil, bool:
		return ifaceBytes
	case int64, float64, types.Date, types.TimeOfDay, types.Timestamp, types.TimestampTZ:
		return ifaceBytes + 8
	case string:
		return ifaceBytes + stringBytes + roundUp8(int64(len(v)))
	case []byte:
		return ifaceBytes + sliceBytes + roundUp8(int64(len(v)))
	case types.Interval:
		return ifaceBytes + 16
	case *apd.Decimal:
		return ifaceBytes + 48 + roundUp8(int64(v.NumDigits())/2)
	case *types.Array:
		n := int64(ifaceBytes + 48 + sliceBytes)
		for _, e := range v.Elems {
			n += datumBytes(e)
		}
		return n
	}
	return ifaceBytes + 32
}

// rowBytes estimates a boxed row: its slice and its datums.
func rowBytes(vals []types.Datum) int64 {
	n := int64(sliceBytes)
	for _, d := range vals {
		n += datumBytes(d)
	}
	return n
}

func roundUp8(n int64) int64 { return (n + 7) &^ 7 }
