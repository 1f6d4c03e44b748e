package hugepage

import (
	"testing"
	"unsafe"
)

// Advise accepts any region — small, unaligned, empty — without touching
// its contents.
func TestAdvise(t *testing.T) {
	for _, n := range []int{0, 1, 4096, 3 << 20, 9<<20 + 123} {
		b := make([]byte, n+1)
		for i := range b {
			b[i] = byte(i)
		}
		p := unsafe.Pointer(unsafe.SliceData(b))
		Advise(unsafe.Add(p, 1), uintptr(n))
		for i := range b {
			if b[i] != byte(i) {
				t.Fatalf("n=%d: byte %d changed", n, i)
			}
		}
	}
}
