//go:build linux

package columnar

import (
	"syscall"
	"unsafe"
)

// hugePage is the transparent huge page size of x86-64 and most arm64
// kernels; another size only makes the advice less effective.
const hugePage = 2 << 20

// adviseHuge asks the kernel to back the whole huge pages inside a large,
// freshly allocated region with transparent huge pages (THP in "madvise"
// mode, the common default, does so only when asked). Random accesses to a
// structure of many megabytes miss the TLB at nearly every access with 4 KiB
// pages, and a page walk under virtualization costs about as much as the
// memory access itself. Errors are ignored: the advice is only a hint.
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
