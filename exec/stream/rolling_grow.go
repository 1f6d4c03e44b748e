package stream

import (
	"unsafe"

	"github.com/sabotsql/sabotsql/internal/hugepage"
)

// growState returns s extended to n elements, the new ones zero (s only
// ever grows, so the spare capacity is still zero). A reallocation gets
// capacity as append would give it (doubling, a quarter more beyond 256
// elements) and, when large, the advice to use huge pages before the old
// elements are copied in (rollAdviseHuge).
func growState[T any](s []T, n int) []T {
	if n <= len(s) {
		return s
	}
	if n <= cap(s) {
		return s[:n]
	}
	c := 2 * cap(s)
	if cap(s) >= 256 {
		c = cap(s) + cap(s)/4
	}
	c = max(c, n)
	t := make([]T, n, c)
	var z T
	hugepage.Advise(unsafe.Pointer(unsafe.SliceData(t)), uintptr(c)*unsafe.Sizeof(z))
	copy(t, s)
	return t
}

// rollPageBits sets the partitions per page of rollPaged state.
const rollPageBits = 12

const rollPageParts = 1 << rollPageBits

// rollPaged is per-partition state, per elements a partition, in pages
// of rollPageParts partitions: adding partitions allocates new pages and
// never copies the old ones (a flat slice grown to a million partitions
// copies its elements several times over, and that copying was most of
// the operator's cost per update at 1M partitions). The first page grows
// with growState, so few partitions take little memory. The element of
// partition p is pages[p>>rollPageBits][(p&(rollPageParts-1))*per]; a
// slice from at is valid until the next grow.
type rollPaged[T any] struct {
	pages [][]T
	per   int
	n     int // partitions
}

func newRollPaged[T any](per int) rollPaged[T] { return rollPaged[T]{per: per} }

// grow makes room for partitions up to n-1, their elements zero.
func (s *rollPaged[T]) grow(n int) {
	if s.per == 0 {
		return
	}
	for s.n < n {
		pg := s.n >> rollPageBits
		end := min(n, (pg+1)<<rollPageBits)
		if pg == 0 {
			if len(s.pages) == 0 {
				s.pages = append(s.pages, nil)
			}
			s.pages[0] = growState(s.pages[0], end*s.per)
		} else if pg == len(s.pages) {
			// A later page is allocated whole (zero) and never moves.
			s.pages = append(s.pages, growState[T](nil, rollPageParts*s.per))
		}
		s.n = end
	}
}

// at is partition p's elements.
func (s *rollPaged[T]) at(p uint32) []T {
	o := int(p&(rollPageParts-1)) * s.per
	return s.pages[p>>rollPageBits][o : o+s.per : o+s.per]
}

// ref is partition p's element (per == 1).
func (s *rollPaged[T]) ref(p uint32) *T {
	return &s.pages[p>>rollPageBits][p&(rollPageParts-1)]
}

// bytes is the memory the pages hold.
func (s *rollPaged[T]) bytes() int64 {
	var z T
	n := int64(cap(s.pages)) * 24
	for _, pg := range s.pages {
		n += int64(cap(pg)) * int64(unsafe.Sizeof(z))
	}
	return n
}
