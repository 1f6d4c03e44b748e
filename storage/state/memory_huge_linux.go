//go:build linux

package state

import (
	"syscall"
	"unsafe"
)

// hugePage is the transparent huge page size of x86-64 and most arm64
// kernels; a larger or smaller one only makes the advice less effective.
const hugePage = 2 << 20

// adviseHuge asks the kernel to back the whole huge pages inside a large,
// not yet touched allocation with transparent huge pages (where THP is in
// "madvise" mode, the common default). A lookup in a table of millions of
// keys touches several random pages per key; with 4 KiB pages nearly each
// of those accesses also misses the TLB, and a page walk under
// virtualization costs as much as the memory access itself. Errors are
// ignored: the advice is only a hint.
func adviseHuge(p unsafe.Pointer, n uintptr) {
	if n < 2*hugePage {
		return
	}
	start := (uintptr(p) + hugePage - 1) &^ (hugePage - 1)
	end := (uintptr(p) + n) &^ (hugePage - 1)
	if end <= start {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Add(p, start-uintptr(p))), end-start)
	_ = syscall.Madvise(b, syscall.MADV_HUGEPAGE)
}
