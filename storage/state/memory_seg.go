package state

import (
	"unsafe"

	"github.com/sabotsql/sabotsql/internal/hugepage"
)

// segShift sets the elements per segment of a segArr (64Ki): small enough
// that a new segment costs little to fault in, large enough that a table's
// segment list stays short and a small table lives in segment 0 alone.
const (
	segShift = 16
	segLen   = 1 << segShift
	segMask  = segLen - 1
)

// segArr is a growable array stored in fixed-size segments: element i is
// s[i>>segShift][i&segMask]. Growing allocates new segments and never
// copies the elements already stored (only segment 0 grows by doubling,
// up to segLen, so a small table stays small). Element addresses are
// stable except within segment 0 while it is below segLen.
type segArr[T any] struct {
	s  [][]T
	s0 []T // s[0] while it is the only segment (else nil): at's fast path
	n  int // elements in use
}

// at is the address of element i (0 <= i < n). In an array of one
// segment (a small table's) it costs one bounds check: FinEWMAView memory
// 1K symbols 125 -> 122 instructions per update (valgrind).
func (a *segArr[T]) at(i int32) *T {
	if uint32(i) < uint32(len(a.s0)) {
		return &a.s0[uint32(i)]
	}
	return &a.s[uint32(i)>>segShift][uint32(i)&segMask]
}

// get is element i.
func (a *segArr[T]) get(i int32) T {
	return a.s[uint32(i)>>segShift][uint32(i)&segMask]
}

// set stores v as element i.
func (a *segArr[T]) set(i int32, v T) {
	a.s[uint32(i)>>segShift][uint32(i)&segMask] = v
}

// first is segment 0: elements [0, min(n, segLen)) contiguous.
func (a *segArr[T]) first() []T {
	if len(a.s) == 0 {
		return nil
	}
	return a.s[0]
}

// resize makes the length n (n >= a.n), allocating segments as needed;
// new elements are zero.
func (a *segArr[T]) resize(n int) {
	if n <= a.n {
		return
	}
	if n <= segLen {
		if len(a.s) == 0 {
			a.s = append(a.s, nil)
		}
		a.s[0] = growSeg0(a.s[0], n)
		a.s0 = a.s[0]
		a.n = n
		return
	}
	if len(a.s) == 0 {
		a.s = append(a.s, nil)
	}
	if len(a.s[0]) < segLen {
		a.s[0] = growSeg0(a.s[0], segLen)
	}
	// Beyond one segment at takes the two-level path always, so its
	// branch stays predictable in a large table.
	a.s0 = nil
	for len(a.s)<<segShift < n {
		// A group of as many segments as the array has (at most
		// hugeGroup) from one allocation, advised to use huge pages.
		k := min(len(a.s), hugeGroup)
		g := make([]T, k*segLen)
		var z T
		hugepage.Advise(unsafe.Pointer(unsafe.SliceData(g)), uintptr(len(g))*unsafe.Sizeof(z))
		for i := range k {
			a.s = append(a.s, g[i*segLen:(i+1)*segLen:(i+1)*segLen])
		}
	}
	a.n = n
}

// Segments beyond segment 0 come in groups allocated together, each as
// many segments as the array already has, up to hugeGroup (so the
// allocated but unused tail stays below what is in use, as with doubling
// a slice), and a group large enough to hold whole huge pages (4 MiB:
// from the group of 8 segments of 8-byte elements, or of 4 segments of
// entries) is advised to use them. Huge pages pay for random lookups in
// large tables: fewer TLB misses, and a page walk under virtualization
// costs about as much as the memory access itself. They cost a
// compaction when the kernel faults one in, which a growing table pays,
// but the grouping keeps a table of fewer than 256Ki keys free of them
// (entries get them from segment 4 on, 8-byte columns from segment 8).
// Measured against advice only beyond 1Mi elements (where a 1M-key table
// had huge pages for its index alone), 4 interleaved runs on a loaded
// machine: typed Get at 1M keys 74.6-86.8 vs 81.4-83.8 CPU ns/key,
// filling an empty table to 1M keys 109-132 vs 116-122, generic upsert
// at 1M keys 164-210 vs 177-229. Advice from segment 1 on in groups of 16
// read as fast (75.0-81.1) but allocates 16 segments for a table just
// past 64Ki elements.
const hugeGroup = 16

// growSeg0 grows segment 0 by doubling, its capacity stopping at segLen.
func growSeg0[T any](s []T, n int) []T {
	if n <= cap(s) {
		return s[:n]
	}
	ns := make([]T, n, min(max(n, 2*cap(s), 16), segLen))
	copy(ns, s)
	return ns
}

// reset drops every element.
func (a *segArr[T]) reset() { a.s, a.s0, a.n = nil, nil, 0 }
