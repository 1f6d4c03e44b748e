//go:build linux

package hugepage

import (
	"syscall"
	"unsafe"
)

// size is the transparent huge page size of x86-64 and most arm64
// kernels; another size only makes the advice less effective.
const size = 2 << 20

// Advise asks the kernel to back the whole huge pages inside a large,
// freshly allocated (not yet touched) region of n bytes at p with
// transparent huge pages (THP in "madvise" mode, the common default, does
// so only when asked). Regions under two huge pages are left alone.
// Errors are ignored: the advice is only a hint.
func Advise(p unsafe.Pointer, n uintptr) {
	if n < 2*size {
		return
	}
	start := (uintptr(p) + size - 1) &^ (size - 1)
	end := (uintptr(p) + n) &^ (size - 1)
	if end <= start {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Add(p, start-uintptr(p))), end-start)
	_ = syscall.Madvise(b, syscall.MADV_HUGEPAGE)
}
