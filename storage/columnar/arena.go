package columnar

import (
	"unsafe"

	"github.com/sabotsql/sabotsql/internal/hugepage"
)

// aref locates bytes in an arena: chunk index in the high 32 bits, offset
// within the chunk in the low 32.
type aref uint64

const (
	arenaFirstChunk = 4 << 10 // a small table costs a few KiB, not a MiB
	arenaMaxChunk   = 8 << 20
	// Items larger than this get a chunk of their own, so a big write
	// does not waste the tail of the current chunk.
	arenaBigItem = arenaMaxChunk / 4
)

// arena is an append-only store of byte strings in large chunks. Bytes
// once written are never modified or reused, so slices handed out stay
// valid (and unchanged) for as long as anybody holds them, after the arena
// itself is dropped. The only Go pointers are one per chunk, so a full
// memtable costs the garbage collector a few hundred pointers instead of
// several per key.
type arena struct {
	chunks [][]byte
	cur    int   // chunk being filled; -1 before the first
	next   int   // size of the next regular chunk
	size   int64 // capacity of all chunks
}

func newArena() arena { return arena{cur: -1, next: arenaFirstChunk} }

// alloc reserves n bytes and returns their reference and the slice to fill.
func (a *arena) alloc(n int) (aref, []byte) {
	if a.cur >= 0 {
		c := a.chunks[a.cur]
		if l := len(c); cap(c)-l >= n {
			a.chunks[a.cur] = c[:l+n]
			return aref(uint64(a.cur)<<32 | uint64(l)), c[l : l+n : l+n]
		}
	}
	if n > arenaBigItem {
		a.chunks = append(a.chunks, make([]byte, n))
		a.size += int64(n)
		i := len(a.chunks) - 1
		return aref(uint64(i) << 32), a.chunks[i]
	}
	size := max(a.next, n)
	a.next = min(a.next*2, arenaMaxChunk)
	a.chunks = append(a.chunks, make([]byte, n, size))
	hugepage.Advise(unsafe.Pointer(unsafe.SliceData(a.chunks[len(a.chunks)-1])), uintptr(size))
	a.size += int64(size)
	a.cur = len(a.chunks) - 1
	return aref(uint64(a.cur) << 32), a.chunks[a.cur][:n:n]
}

// add copies b into the arena.
func (a *arena) add(b []byte) aref {
	r, dst := a.alloc(len(b))
	copy(dst, b)
	return r
}

// get returns the n bytes at r (capacity n: appending to it copies).
func (a *arena) get(r aref, n uint32) []byte {
	c := a.chunks[r>>32]
	off := uint32(r)
	return c[off : off+n : off+n]
}

// str is get as a string sharing the arena's bytes.
func (a *arena) str(r aref, n uint32) string {
	if n == 0 {
		return ""
	}
	c := a.chunks[r>>32]
	return unsafe.String(&c[uint32(r)], int(n))
}
