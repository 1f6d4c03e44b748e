// Package lazyorder keeps the key order of an in-memory hash-indexed table
// without paying for it on every insert: new entries wait in an unsorted
// list and are sorted and merged into the ordered list only when a reader
// needs the order (a scan, a range deletion, a flush). Random upserts then
// cost one hash probe instead of a skip-list insert, whose pointer chase
// misses the cache at every level. New entries are sorted as (16-byte key
// prefix, entry) pairs, by radix when there are many (only the prefix bytes
// that differ cost a pass; when at most 4 differ, as with dense integer
// keys, they are packed with the pair's index into 8 bytes, so a pass
// moves 8 bytes per entry instead of 24), by comparison otherwise; equal
// prefixes fall back to the full keys. With E an id type (uint32) the order holds no
// pointers for the garbage collector to scan.
//
// Invariants:
//  1. Sorted returns every added, not yet removed entry in ascending key
//     order, possibly followed or interleaved by removed ones the caller
//     recognizes with its dead function and skips.
//  2. A slice returned by Sorted is never modified afterwards (a merge
//     builds a new one), so readers may keep iterating it while later
//     Sorted calls replace it.
//  3. Add and Removed are called by the writer under the owner's write
//     lock; Sorted may also run concurrently under its read lock (it
//     serializes itself).
package lazyorder

import (
	"cmp"
	"encoding/binary"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Order is the lazily sorted key order of entries of type E (typically a
// pointer). The zero value is not usable; call New.
type Order[E any] struct {
	key  func(E) string
	dead func(E) bool

	mu     sync.Mutex
	sorted []E // ascending by key; may hold dead entries
	fresh  []E // added since the last sort, unordered
	ndead  int // entries removed since the last sort
}

// New returns an empty order. key gives an entry's key (immutable), dead
// reports whether it was removed.
func New[E any](key func(E) string, dead func(E) bool) *Order[E] {
	return &Order[E]{key: key, dead: dead}
}

// Add records a new entry (its key must not be live in the order already).
func (o *Order[E]) Add(e E) { o.fresh = append(o.fresh, e) }

// Reserve makes room for n more Adds without growing the list of new
// entries.
func (o *Order[E]) Reserve(n int) { o.fresh = slices.Grow(o.fresh, n) }

// Removed notes that an entry became dead; the next Sorted drops it.
func (o *Order[E]) Removed() { o.ndead++ }

// Len is the number of entries the order holds, dead ones included.
func (o *Order[E]) Len() int { return len(o.sorted) + len(o.fresh) }

// Sorted returns the entries in ascending key order; see the invariants.
func (o *Order[E]) Sorted() []E {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.fresh) == 0 && o.ndead == 0 {
		return o.sorted
	}
	fresh := o.sortFresh()
	if len(o.sorted) == 0 {
		clear(o.fresh)
		o.sorted, o.fresh, o.ndead = fresh, o.fresh[:0], 0
		return fresh
	}
	out := make([]E, 0, max(len(o.sorted)+len(fresh)-o.ndead, 0))
	checkDead := o.ndead > 0
	i, j := 0, 0
	for i < len(o.sorted) {
		e := o.sorted[i]
		if checkDead && o.dead(e) {
			i++
			continue
		}
		if j < len(fresh) && o.key(fresh[j]) < o.key(e) {
			out = append(out, fresh[j])
			j++
			continue
		}
		out = append(out, e)
		i++
	}
	out = append(out, fresh[j:]...)
	clear(o.fresh)
	o.sorted, o.fresh, o.ndead = out, o.fresh[:0], 0
	return out
}

// prefixed is an entry with the first 16 bytes of its key as two
// big-endian words (zero-padded): comparing the words orders keys as
// bytewise comparison does, except that equal words need the full keys.
type prefixed[E any] struct {
	p0, p1 uint64
	e      E
}

// sortFresh returns the live fresh entries in key order (a new slice).
// Sorting (prefix, entry) pairs decides almost every comparison without
// touching the entries, whose keys are scattered over memory.
func (o *Order[E]) sortFresh() []E {
	if len(o.fresh) >= radixMin {
		if out, ok := o.sortFreshPacked(); ok {
			return out
		}
	}
	ps := make([]prefixed[E], 0, len(o.fresh))
	for _, e := range o.fresh {
		if o.dead(e) {
			continue
		}
		p0, p1 := prefixOf(o.key(e))
		ps = append(ps, prefixed[E]{p0, p1, e})
	}
	full := func(a, b prefixed[E]) int {
		if c := cmp.Compare(a.p0, b.p0); c != 0 {
			return c
		}
		if c := cmp.Compare(a.p1, b.p1); c != 0 {
			return c
		}
		return strings.Compare(o.key(a.e), o.key(b.e))
	}
	if len(ps) < radixMin {
		slices.SortFunc(ps, full)
	} else {
		ps = radixSort(ps)
		// Equal 16-byte prefixes (keys longer than 16 bytes sharing them)
		// are ordered by their full keys.
		for i := 0; i < len(ps); {
			j := i + 1
			for j < len(ps) && ps[j].p0 == ps[i].p0 && ps[j].p1 == ps[i].p1 {
				j++
			}
			if j-i > 1 {
				slices.SortFunc(ps[i:j], full)
			}
			i = j
		}
	}
	out := make([]E, len(ps))
	for i := range ps {
		out[i] = ps[i].e
	}
	return out
}

// Seek returns the index in s (a Sorted result) of the first entry with key
// ≥ k.
func (o *Order[E]) Seek(s []E, k string) int {
	return sort.Search(len(s), func(i int) bool { return o.key(s[i]) >= k })
}

// radixMin is the number of fresh entries from which sortFresh sorts by
// radix instead of by comparison.
const radixMin = 2048

// diffDigits returns the byte positions of the 16-byte prefixes of ps
// where some entries differ (see digitsOf).
func diffDigits[E any](ps []prefixed[E]) []int {
	and0, and1, or0, or1 := ^uint64(0), ^uint64(0), uint64(0), uint64(0)
	for i := range ps {
		and0 &= ps[i].p0
		or0 |= ps[i].p0
		and1 &= ps[i].p1
		or1 |= ps[i].p1
	}
	return digitsOf(and0, and1, or0, or1)
}

// digitsOf returns the byte positions (counted from the least significant
// byte of p1) where prefixes whose words AND and OR to and0, and1, or0,
// or1 differ: bits set in some prefix and clear in another.
func digitsOf(and0, and1, or0, or1 uint64) []int {
	var digits []int
	for d := range 16 { // least significant digit first: p1's low byte
		diff := (and1 ^ or1) >> (8 * d)
		if d >= 8 {
			diff = (and0 ^ or0) >> (8 * (d - 8))
		}
		if byte(diff) != 0 {
			digits = append(digits, d)
		}
	}
	return digits
}

// sortFreshPacked returns the live fresh entries in key order when there
// are radixMin or more and their 16-byte key prefixes differ in at most 4
// byte positions (dense integer keys: 2 or 3). A first pass over the keys
// finds those positions; a second packs each entry's differing bytes and
// its index in o.fresh into a uint64 (digits in the high half), which a
// radix sort orders moving 8 bytes per entry and pass, with no array of
// (prefix, entry) pairs. Equal packed digits are equal prefixes, ordered
// by the full keys.
func (o *Order[E]) sortFreshPacked() ([]E, bool) {
	if uint64(len(o.fresh)) >= 1<<32 {
		return nil, false
	}
	and0, and1, or0, or1 := ^uint64(0), ^uint64(0), uint64(0), uint64(0)
	live := 0
	for _, e := range o.fresh {
		if o.dead(e) {
			continue
		}
		p0, p1 := prefixOf(o.key(e))
		and0 &= p0
		or0 |= p0
		and1 &= p1
		or1 |= p1
		live++
	}
	digits := digitsOf(and0, and1, or0, or1)
	if len(digits) > 4 || live < radixMin {
		return nil, false
	}
	src := make([]uint64, 0, live)
	var counts [4][256]int
	for i, e := range o.fresh {
		if o.dead(e) {
			continue
		}
		p := prefixed[E]{}
		p.p0, p.p1 = prefixOf(o.key(e))
		v := uint64(i)
		for k, d := range digits {
			b := digit(p, d)
			counts[k][b]++
			v |= uint64(b) << (32 + 8*k)
		}
		src = append(src, v)
	}
	dst := make([]uint64, live)
	for k := range digits {
		c := &counts[k]
		pos := 0
		for b := range c {
			n := c[b]
			c[b] = pos
			pos += n
		}
		shift := 32 + 8*k
		for _, v := range src {
			b := byte(v >> shift)
			dst[c[b]] = v
			c[b]++
		}
		src, dst = dst, src
	}
	out := make([]E, live)
	for i, x := range src {
		out[i] = o.fresh[uint32(x)]
	}
	for i := 0; i < len(src); {
		j := i + 1
		for j < len(src) && src[j]>>32 == src[i]>>32 {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(out[i:j], func(a, b E) int { return strings.Compare(o.key(a), o.key(b)) })
		}
		i = j
	}
	return out, true
}

// prefixOf is the first 16 bytes of k as two big-endian words
// (zero-padded).
func prefixOf(k string) (p0, p1 uint64) {
	var buf [16]byte
	copy(buf[:], k)
	return binary.BigEndian.Uint64(buf[:8]), binary.BigEndian.Uint64(buf[8:])
}

// radixSort orders ps by (p0, p1) with a least-significant-digit radix sort
// over the 16 prefix bytes, skipping the byte positions where every entry
// has the same byte (the type tags and high bytes of typical keys), so
// dense integer keys take two or three passes. It returns the sorted slice
// (ps or a buffer of the same length).
func radixSort[E any](ps []prefixed[E]) []prefixed[E] {
	digits := diffDigits(ps)
	var counts [16][256]int
	for i := range ps {
		for _, d := range digits {
			counts[d][digit(ps[i], d)]++
		}
	}
	buf := make([]prefixed[E], len(ps))
	src, dst := ps, buf
	for _, d := range digits {
		c := &counts[d]
		pos := 0
		for b := range c {
			n := c[b]
			c[b] = pos
			pos += n
		}
		for _, p := range src {
			b := digit(p, d)
			dst[c[b]] = p
			c[b]++
		}
		src, dst = dst, src
	}
	return src
}

// digit is byte d of (p0, p1) counted from the least significant byte of p1.
func digit[E any](p prefixed[E], d int) byte {
	if d < 8 {
		return byte(p.p1 >> (8 * d))
	}
	return byte(p.p0 >> (8 * (d - 8)))
}
