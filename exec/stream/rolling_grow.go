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
