package columnar

import (
	"encoding/binary"
	"math/bits"
)

// bloom is a split-nothing Bloom filter with double hashing: 10 bits per key
// and 7 probes (~1% false positives).
type bloom struct {
	bits []byte
	k    uint32
}

const bloomBitsPerKey = 10

func newBloom(n int) *bloom {
	nb := max(64, n*bloomBitsPerKey)
	return &bloom{bits: make([]byte, (nb+7)/8), k: 7}
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
	delta := h>>33 | h<<31
	n := uint64(len(f.bits)) * 8
	for i := uint32(0); i < f.k; i++ {
		p := h % n
		f.bits[p/8] |= 1 << (p % 8)
		h += delta
	}
}

func (f *bloom) mayContain(key []byte) bool {
	if len(f.bits) == 0 {
		return true
	}
	h := hashKey(key)
	delta := h>>33 | h<<31
	n := uint64(len(f.bits)) * 8
	for i := uint32(0); i < f.k; i++ {
		p := h % n
		if f.bits[p/8]&(1<<(p%8)) == 0 {
			return false
		}
		h += delta
	}
	return true
}
