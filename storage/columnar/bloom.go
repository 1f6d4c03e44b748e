package columnar

import (
	"encoding/binary"
	"math/bits"
	"unsafe"

	"github.com/sabotsql/sabotsql/internal/hugepage"
)

// bloom is a blocked Bloom filter: a key's probes all fall in one 512-bit
// block (one cache line), so a lookup costs one cache miss. About 10 bits
// per key and 7 probes give roughly 1% false positives.
type bloom struct {
	bits []byte // a multiple of bloomBlock bytes
	k    uint32
}

const bloomBlock = 64

const bloomBitsPerKey = 10

func newBloom(n int) *bloom {
	return &bloom{bits: make([]byte, bloomBlocks(n)*bloomBlock), k: 7}
}

// bloomBlocks is the number of blocks a filter of n keys needs.
func bloomBlocks(n int) int {
	return max(1, (n*bloomBitsPerKey+bloomBlock*8-1)/(bloomBlock*8))
}

// newBloomUpTo returns a filter for at most n keys that fold can later
// shrink: its block count is rounded up (by under 1/16) to a multiple of
// a large power of two, so it has many divisors.
func newBloomUpTo(n int) *bloom {
	nb := bloomBlocks(n)
	if sh := bits.Len(uint(nb)) - 5; sh > 0 {
		nb = (nb + 1<<sh - 1) >> sh << sh
	}
	bits := make([]byte, nb*bloomBlock)
	// Adding keys touches the filter at random: past the CPU cache every
	// add is a miss, and without huge pages a TLB miss too.
	hugepage.Advise(unsafe.Pointer(unsafe.SliceData(bits)), uintptr(len(bits)))
	return &bloom{bits: bits, k: 7}
}

// fold shrinks the filter to the fewest blocks that still give n keys
// their bits per key. A key's block is (h>>32)·nb>>32; for r dividing nb,
// its block among nb/r is that index divided by r, so OR-ing each run of r
// adjacent blocks keeps every key's bits (the filter answers a superset).
func (f *bloom) fold(n int) {
	nb := len(f.bits) / bloomBlock
	need := bloomBlocks(n)
	r := nb / need
	for r > 1 && nb%r != 0 {
		r--
	}
	if r <= 1 {
		return
	}
	out := make([]byte, nb/r*bloomBlock)
	for i := range nb {
		dst := out[i/r*bloomBlock : (i/r+1)*bloomBlock]
		for j, c := range f.bits[i*bloomBlock : (i+1)*bloomBlock] {
			dst[j] |= c
		}
	}
	f.bits = out
}

// probe returns the key's block and the 9-bit probe positions source.
func (f *bloom) probe(h uint64) ([]byte, uint64) {
	nb := uint64(len(f.bits) / bloomBlock)
	b := (h >> 32) * nb >> 32 // fast range over the high half
	return f.bits[b*bloomBlock : (b+1)*bloomBlock], h * 0x9e3779b97f4a7c15
}

// hashKey is a fixed 64-bit hash (stable across processes, unlike maphash):
// 8 bytes at a time, multiply and rotate, finished with a murmur mix.
func hashKey(b []byte) uint64 {
	const m = 0x9e3779b97f4a7c15
	h := uint64(len(b)) * m
	for len(b) >= 8 {
		h ^= binary.LittleEndian.Uint64(b) * 0xff51afd7ed558ccd
		h = bits.RotateLeft64(h, 29) * m
		b = b[8:]
	}
	var tail uint64
	for i, c := range b {
		tail |= uint64(c) << (8 * i)
	}
	h ^= tail * 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// addHashes adds a group of hashes. A filter of many keys is far larger
// than the CPU cache and every key's block is a likely miss: the blocks are
// loaded first, with no branch on the loaded bytes, so a group's misses
// overlap instead of each add waiting for its own. sink keeps the loads.
func (f *bloom) addHashes(hs []uint64) (sink byte) {
	nb := uint64(len(f.bits) / bloomBlock)
	for _, h := range hs {
		sink += f.bits[((h>>32)*nb>>32)*bloomBlock]
	}
	for _, h := range hs {
		f.addHash(h)
	}
	return sink
}

func (f *bloom) addHash(h uint64) {
	blk, p := f.probe(h)
	for i := uint32(0); i < f.k; i++ {
		bit := p & 511
		blk[bit/8] |= 1 << (bit % 8)
		p = p>>9 | p<<55
	}
}

func (f *bloom) mayContain(key []byte) bool {
	if len(f.bits) == 0 {
		return true
	}
	blk, p := f.probe(hashKey(key))
	for i := uint32(0); i < f.k; i++ {
		bit := p & 511
		if blk[bit/8]&(1<<(bit%8)) == 0 {
			return false
		}
		p = p>>9 | p<<55
	}
	return true
}
