package state

import (
	"context"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
)

// Updater is an optional fast path of a state table: a read-modify-write
// of a batch of keys — an aggregate's state, a bag-mode view's row counts —
// with one index probe per key instead of one for the Get and another for
// the Write. MemoryTable implements it; callers that Get and then Write the
// same keys can test for it and fall back to Get and Write.
type Updater interface {
	// Update looks keys up in the writer view and calls fn with what it
	// found; cur.Values is valid only during the call (fn retains what it
	// keeps). The ops and values fn returns then apply to the same keys
	// exactly as Write(ctx, keys, ops, values) would. fn runs under the
	// table's write lock and must not call the table. An error from fn
	// (or from the write) is returned; after an error from fn nothing has
	// changed.
	Update(ctx context.Context, keys [][]byte, fn func(cur Lookup) (ops []Op, values arrow.RecordBatch, err error)) error
}

var _ Updater = (*MemoryTable)(nil)

// Update implements Updater.
func (m *MemoryTable) Update(ctx context.Context, keys [][]byte, fn func(cur Lookup) ([]Op, arrow.RecordBatch, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	keyBytes, err := checkMemKeys(keys)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	n := len(keys)
	ids := slices.Grow(m.uids[:0], n)[:n]
	m.uids = ids
	m.findLocked(keys, ids)
	src := slices.Grow(m.usrc[:0], n)[:n]
	m.usrc = src
	copy(src, ids)
	m.slotsLocked(src, MaxEpoch)
	m.appLookupLocked(keys, src, MaxEpoch)
	found := make([]bool, n)
	for i, s := range src {
		found[i] = s >= 0
	}
	rec, err := m.gatherLocked(src)
	if err != nil {
		return err
	}
	ops, values, err := fn(Lookup{Values: rec, Found: found})
	rec.Release()
	if err != nil {
		return err
	}
	if err := CheckWrite(m.codec, keys, ops, values); err != nil {
		return err
	}
	return m.writeLocked(ctx, keys, ops, values, keyBytes, ids)
}
