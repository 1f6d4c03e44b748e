package columnar

import "unsafe"

// prefetch asks the CPU to bring the cache line at p into its caches
// without waiting for it (PREFETCHT0): unlike a load, it neither blocks
// the instructions after it nor faults on a bad address. Walks over
// memory in an order unrelated to its layout (a flush in key order)
// prefetch a few entries ahead, so the misses overlap with the work on
// the current one. A call costs a few nanoseconds (assembly is not
// inlined).
//
//go:noescape
func prefetch(p unsafe.Pointer)
