package exec

import (
	"sync/atomic"

	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// MemAccount tracks the memory one statement's operators hold and fails with
// SQLSTATE 53200 when the statement's limit would be exceeded. Operators
// Grow before buffering (hash tables, sort buffers, materialized inputs) and
// Shrink when they free. Safe for concurrent use.
type MemAccount struct {
	limit int64 // bytes; <= 0 means unlimited
	used  atomic.Int64
	peak  atomic.Int64
}

// NewMemAccount returns an account with the given limit in bytes (<= 0: none).
func NewMemAccount(limit int64) *MemAccount { return &MemAccount{limit: limit} }

// Grow reserves n bytes, or returns a 53200 error and reserves nothing.
func (m *MemAccount) Grow(n int64) error {
	if m == nil {
		return nil
	}
	u := m.used.Add(n)
	if m.limit > 0 && u > m.limit {
		m.used.Add(-n)
		return pgerror.New(pgerror.OutOfMemory, "out of memory").
			WithDetail("query needs more than the memory limit of %d bytes", m.limit)
	}
	for {
		p := m.peak.Load()
		if u <= p || m.peak.CompareAndSwap(p, u) {
			break
		}
	}
	return nil
}

// Shrink releases n bytes.
func (m *MemAccount) Shrink(n int64) {
	if m != nil {
		m.used.Add(-n)
	}
}

// Used returns the bytes currently reserved.
func (m *MemAccount) Used() int64 {
	if m == nil {
		return 0
	}
	return m.used.Load()
}

// Peak returns the most bytes ever reserved at once.
func (m *MemAccount) Peak() int64 {
	if m == nil {
		return 0
	}
	return m.peak.Load()
}
