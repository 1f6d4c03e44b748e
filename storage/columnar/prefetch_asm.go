//go:build amd64 || arm64

package columnar

import "unsafe"

// prefetch asks the CPU to bring the cache line at p into its caches
// without waiting for it (PREFETCHT0 on amd64, PRFM PLDL1KEEP on arm64):
// unlike a load, it does not hold up the instructions after it and does
// not fault on a bad address. Walks over memory in an order unrelated to
// its layout (a flush in key order) prefetch a few entries ahead, so the
// misses overlap with the work on the current one. A call costs a few
// nanoseconds (assembly is not inlined).
//
//go:noescape
func prefetch(p unsafe.Pointer)
