package engine

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The accounted shares stay within --memory-limit and leave a quarter of it
// unaccounted; the Go runtime's soft limit is above the accounted budget
// (1.5x), and explicit overrides replace single shares.
func TestMemoryShares(t *testing.T) {
	const limit = 512 << 20
	m := newMemoryShares(Options{MemoryLimit: limit})
	require.Equal(t, int64(limit), m.total)
	require.Equal(t, int64(limit/8*3), m.state)
	accounted := m.state + m.aggregate + m.query + m.stream
	require.Equal(t, int64(limit/4), limit-accounted)
	require.Equal(t, int64(768<<20), m.runtime)
	require.Greater(t, m.runtime, m.total)

	m = newMemoryShares(Options{MemoryLimit: limit, StateMemory: 1 << 20, AggregateMemory: 2 << 20})
	require.Equal(t, int64(1<<20), m.state)
	require.Equal(t, int64(2<<20), m.aggregate)
	require.Equal(t, int64(limit/8), m.query)
	require.Equal(t, int64(768<<20), m.runtime)
}
