//go:build linux

package stream

import (
	"syscall"
	"unsafe"
)

// rollHugePage is the transparent huge page size of x86-64 and most arm64
// kernels; another size only makes the advice less effective.
const rollHugePage = 2 << 20

// rollAdviseHuge asks the kernel to back the whole huge pages inside a
// large, freshly allocated (not yet touched) region with transparent huge
// pages (THP in "madvise" mode, the common default, does so only when
// asked). The rolling window's per-partition arrays are read at random,
// one element per row: with 4 KiB pages nearly every access to an array
// of many megabytes also misses the TLB. Errors are ignored: the advice is
// only a hint.
func rollAdviseHuge(p unsafe.Pointer, n uintptr) {
	if n < 2*rollHugePage {
		return
	}
	start := (uintptr(p) + rollHugePage - 1) &^ (rollHugePage - 1)
	end := (uintptr(p) + n) &^ (rollHugePage - 1)
	if end <= start {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Add(p, start-uintptr(p))), end-start)
	_ = syscall.Madvise(b, syscall.MADV_HUGEPAGE)
}
