package columnar

import (
	"encoding/binary"
	"math/bits"
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
	blocks := max(1, (n*bloomBitsPerKey+bloomBlock*8-1)/(bloomBlock*8))
	return &bloom{bits: make([]byte, blocks*bloomBlock), k: 7}
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
