package agg

import (
	"bytes"
	"math"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/types"
)

// NoGroup is kernels.NoGroup, repeated for convenience.
const NoGroup = kernels.NoGroup

type tableKind uint8

const (
	kindInt     tableKind = iota // one integer-like key: open addressing on int64
	kindBytes                    // one text/varchar/name/bytea key: bytes table
	kindGeneral                  // anything else: encoded row keys
)

// GroupTable maps key tuples to dense group ids 0..Len()-1, in order of
// first appearance. NULL keys are equal to each other (GROUP BY semantics)
// and SQL equality decides the rest (see package vec). Not safe for
// concurrent use.
type GroupTable struct {
	keyTypes []types.T
	mem      memory.Allocator
	kind     tableKind
	n        int

	ints  intTable
	bytes bytesTable
	// nullID is the group of the all-NULL key for single-key tables.
	nullID uint32

	// general path: representative rows of each new group, per key column.
	enc    vec.KeyEncoder
	chunks [][]arrow.Array
	newIdx []int32
}

// NewGroupTable returns an empty table for keys of the given SQL types.
func NewGroupTable(keyTypes []types.T, mem memory.Allocator) *GroupTable {
	t := &GroupTable{keyTypes: append([]types.T(nil), keyTypes...), mem: mem, nullID: NoGroup}
	t.bytes.init()
	switch {
	case len(keyTypes) == 1 && isIntLike(keyTypes[0]):
		t.kind = kindInt
		t.ints.init()
	case len(keyTypes) == 1 && isBytesLike(keyTypes[0]):
		t.kind = kindBytes
	default:
		t.kind = kindGeneral
		t.enc.Types = t.keyTypes
		t.chunks = make([][]arrow.Array, len(keyTypes))
	}
	return t
}

func isIntLike(t types.T) bool {
	switch t.Family {
	case types.FamInt2, types.FamInt4, types.FamInt8, types.FamDate, types.FamTime,
		types.FamTimestamp, types.FamTimestampTZ, types.FamOid, types.FamRegclass, types.FamRegtype:
		return true
	}
	return false
}

func isBytesLike(t types.T) bool {
	switch t.Family {
	case types.FamText, types.FamVarchar, types.FamName, types.FamBytea:
		return true
	}
	return false
}

// Len returns the number of groups.
func (t *GroupTable) Len() int { return t.n }

// Insert assigns a group id to every row of keys (one array per key column)
// into groups (len(groups) == rows), creating groups for new keys.
func (t *GroupTable) Insert(keys []arrow.Array, groups []uint32) {
	t.run(keys, groups, true)
}

// Probe looks every row up without inserting; rows whose key is absent get
// NoGroup. A NULL key finds the NULL group if one was inserted.
func (t *GroupTable) Probe(keys []arrow.Array, groups []uint32) {
	t.run(keys, groups, false)
}

func (t *GroupTable) run(keys []arrow.Array, groups []uint32, insert bool) {
	if len(groups) == 0 {
		return
	}
	switch t.kind {
	case kindInt:
		t.runInt(keys[0], groups, insert)
	case kindBytes:
		t.runBytes(keys[0], groups, insert)
	default:
		t.runGeneral(keys, groups, insert)
	}
}

// nullGroup returns the NULL key's group, creating it when inserting.
func (t *GroupTable) nullGroup(insert bool) uint32 {
	if t.nullID == NoGroup && insert {
		t.nullID = uint32(t.n)
		t.n++
		if t.kind == kindInt {
			t.ints.order = append(t.ints.order, 0)
		} else {
			t.bytes.appendKey(nil)
		}
	}
	return t.nullID
}

func (t *GroupTable) runInt(arr arrow.Array, groups []uint32, insert bool) {
	switch a := arr.(type) {
	case *array.Int16:
		runIntTyped(t, vec.Values[int16](a), arr, groups, insert)
	case *array.Int32:
		runIntTyped(t, vec.Values[int32](a), arr, groups, insert)
	case *array.Int64:
		runIntTyped(t, vec.Values[int64](a), arr, groups, insert)
	case *array.Date32:
		runIntTyped(t, vec.Values[arrow.Date32](a), arr, groups, insert)
	case *array.Time64:
		runIntTyped(t, vec.Values[arrow.Time64](a), arr, groups, insert)
	case *array.Timestamp:
		runIntTyped(t, vec.Values[arrow.Timestamp](a), arr, groups, insert)
	case *array.Null:
		g := t.nullGroup(insert)
		for i := range groups {
			groups[i] = g
		}
	default:
		t.runGeneralFallback(arr, groups, insert)
	}
}

func runIntTyped[T ~int16 | ~int32 | ~int64](t *GroupTable, vals []T, arr arrow.Array, groups []uint32, insert bool) {
	vm, off := vec.Validity(arr)
	it := &t.ints
	if insert && !it.decided {
		it.decide(vals, vm, off)
	}
	if insert && it.recheck {
		it.recheck = false
		it.tryDirect()
	}
	start := 0
	if it.direct != nil {
		start = runIntDirect(t, vals, vm, off, groups, insert)
		if start == len(groups) {
			return
		}
		it.toHashed() // row start's key is outside the window
	}
	// Probe in blocks: first compute every row's home slot (independent
	// work), then walk the table, so the CPU overlaps the cache misses of
	// consecutive rows.
	var home [256]uint64
	for lo := start; lo < len(groups); lo += len(home) {
		hi := min(len(groups), lo+len(home))
		var touch uint32
		for i := lo; i < hi; i++ {
			h := vec.HashU64(uint64(int64(vals[i])))
			home[i-lo] = h
			touch += it.slots[h&it.mask].id // warm the slot's cache line
		}
		it.touch = touch
		for i := lo; i < hi; i++ {
			if vm != nil && !bitutil.BitIsSet(vm, off+i) {
				groups[i] = t.nullGroup(insert)
				continue
			}
			k := int64(vals[i])
			if insert {
				g, isNew := it.findOrInsertHashed(k, home[i-lo], uint32(t.n))
				if isNew {
					t.n++
				}
				groups[i] = g
			} else {
				groups[i] = it.findHashed(k, home[i-lo])
			}
		}
	}
}

// runIntDirect assigns groups while keys stay inside the direct window and
// returns the index of the first row it could not handle (len(groups) when
// it handled all): an inserted key outside the window. Probed keys outside
// the window are absent.
func runIntDirect[T ~int16 | ~int32 | ~int64](t *GroupTable, vals []T, vm []byte, off int, groups []uint32, insert bool) int {
	it := &t.ints
	direct, base := it.direct, it.base
	n := uint64(len(direct))
	vals = vals[:len(groups)]
	for i, v := range vals {
		if vm != nil && !bitutil.BitIsSet(vm, off+i) {
			groups[i] = t.nullGroup(insert)
			continue
		}
		d := uint64(int64(v) - base) // wraps: in the window iff d < n
		if d >= n {
			if insert {
				return i
			}
			groups[i] = NoGroup
			continue
		}
		if id := direct[d]; id != 0 {
			groups[i] = id - 1
			continue
		}
		if !insert {
			groups[i] = NoGroup
			continue
		}
		g := uint32(t.n)
		direct[d] = g + 1
		it.order = append(it.order, int64(v))
		it.used++
		t.n++
		groups[i] = g
	}
	return len(groups)
}

func (t *GroupTable) runBytes(arr arrow.Array, groups []uint32, insert bool) {
	if _, ok := arr.(*array.Null); ok {
		g := t.nullGroup(insert)
		for i := range groups {
			groups[i] = g
		}
		return
	}
	offs, data := vec.BinaryParts(arr)
	if offs == nil {
		t.runGeneralFallback(arr, groups, insert)
		return
	}
	vm, voff := vec.Validity(arr)
	bt := &t.bytes
	for i := range groups {
		if vm != nil && !bitutil.BitIsSet(vm, voff+i) {
			groups[i] = t.nullGroup(insert)
			continue
		}
		k := data[offs[i]:offs[i+1]]
		h := vec.HashBytes(k)
		if insert {
			g, isNew := bt.findOrInsert(k, h, uint32(t.n))
			if isNew {
				t.n++
			}
			groups[i] = g
		} else {
			groups[i] = bt.find(k, h)
		}
	}
}

// runGeneralFallback handles an array whose Arrow type does not match the
// declared key type's fast path; it cannot happen with well-typed plans.
func (t *GroupTable) runGeneralFallback(arr arrow.Array, groups []uint32, insert bool) {
	for i := range groups {
		if arr.IsNull(i) {
			groups[i] = t.nullGroup(insert)
			continue
		}
		k := []byte(arr.ValueStr(i))
		h := vec.HashBytes(k)
		if insert {
			g, isNew := t.bytes.findOrInsert(k, h, uint32(t.n))
			if isNew {
				t.n++
			}
			groups[i] = g
		} else {
			groups[i] = t.bytes.find(k, h)
		}
	}
}

func (t *GroupTable) runGeneral(keys []arrow.Array, groups []uint32, insert bool) {
	if len(keys) == 0 { // GROUP BY (): one group
		if t.n == 0 && insert {
			t.n = 1
		}
		g := NoGroup
		if t.n == 1 {
			g = 0
		}
		for i := range groups {
			groups[i] = g
		}
		return
	}
	t.enc.Encode(keys)
	t.newIdx = t.newIdx[:0]
	bt := &t.bytes
	for i := range groups {
		k := t.enc.Key(i)
		h := vec.HashBytes(k)
		if insert {
			g, isNew := bt.findOrInsert(k, h, uint32(t.n))
			if isNew {
				t.n++
				t.newIdx = append(t.newIdx, int32(i))
			}
			groups[i] = g
		} else {
			groups[i] = bt.find(k, h)
		}
	}
	if len(t.newIdx) > 0 {
		for c, col := range keys {
			t.chunks[c] = append(t.chunks[c], vec.Take(t.mem, col, t.newIdx))
		}
	}
}

// KeyArrays returns the distinct keys in group-id order, one array per key
// column (of types.ArrowType of the key type). The caller releases them.
func (t *GroupTable) KeyArrays() []arrow.Array {
	switch t.kind {
	case kindInt:
		b := array.NewBuilder(t.mem, types.ArrowType(t.keyTypes[0]))
		defer b.Release()
		b.Reserve(t.n)
		appendInts(b, t.ints.order, t.nullID)
		return []arrow.Array{b.NewArray()}
	case kindBytes:
		b := array.NewBuilder(t.mem, types.ArrowType(t.keyTypes[0]))
		defer b.Release()
		b.Reserve(t.n)
		bt := &t.bytes
		for g := 0; g < t.n; g++ {
			if uint32(g) == t.nullID {
				b.AppendNull()
				continue
			}
			k := bt.key(uint32(g))
			switch bb := b.(type) {
			case *array.StringBuilder:
				bb.BinaryBuilder.Append(k)
			case *array.BinaryBuilder:
				bb.Append(k)
			}
		}
		return []arrow.Array{b.NewArray()}
	}
	out := make([]arrow.Array, len(t.keyTypes))
	for c := range out {
		if len(t.chunks[c]) == 0 {
			out[c] = array.MakeArrayOfNull(t.mem, types.ArrowType(t.keyTypes[c]), 0)
			continue
		}
		out[c] = vec.Concat(t.mem, t.chunks[c])
		// Keep one compacted chunk for later calls.
		for _, a := range t.chunks[c] {
			a.Release()
		}
		out[c].Retain()
		t.chunks[c] = append(t.chunks[c][:0], out[c])
	}
	return out
}

func appendInts(b array.Builder, vals []int64, nullID uint32) {
	for g, v := range vals {
		if uint32(g) == nullID {
			b.AppendNull()
			continue
		}
		switch bb := b.(type) {
		case *array.Int16Builder:
			bb.Append(int16(v))
		case *array.Int32Builder:
			bb.Append(int32(v))
		case *array.Int64Builder:
			bb.Append(v)
		case *array.Date32Builder:
			bb.Append(arrow.Date32(v))
		case *array.Time64Builder:
			bb.Append(arrow.Time64(v))
		case *array.TimestampBuilder:
			bb.Append(arrow.Timestamp(v))
		}
	}
}

// MemoryBytes estimates the heap the table holds.
func (t *GroupTable) MemoryBytes() int64 {
	m := t.ints.memoryBytes() + t.bytes.memoryBytes() + int64(cap(t.enc.Arena)) + int64(cap(t.enc.Offsets))*8
	for _, cs := range t.chunks {
		for _, a := range cs {
			for _, b := range a.Data().Buffers() {
				if b != nil {
					m += int64(b.Len())
				}
			}
		}
	}
	return m
}

// Release frees the representative key arrays the table holds.
func (t *GroupTable) Release() {
	for c, cs := range t.chunks {
		for _, a := range cs {
			a.Release()
		}
		t.chunks[c] = nil
	}
}

// intTable is an open-addressing hash table from int64 keys to group ids.
type intTable struct {
	slots []intSlot // id == 0 means empty; otherwise group id + 1
	mask  uint64
	used  int
	order []int64 // keys by group id (0 for the NULL group)
	touch uint32  // sink for cache-warming loads

	// Direct mode (see decide): while direct is non-nil every key is in
	// [base, base+len(direct)) and direct[key-base] is its id+1 (0: absent);
	// slots is unused.
	direct  []uint32
	base    int64
	decided bool

	// Hashed mode: the smallest and largest key (valid when used > 0, the
	// NULL group aside); recheck asks the next insert to try the direct
	// mode again (set when the hash table doubled).
	lo, hi  int64
	recheck bool
}

// maxDenseDirect bounds the direct window tryDirect may choose (16M ids,
// 64 MiB), and minDirectFill the share of its span that must hold keys.
const (
	maxDenseDirect = 1 << 24
	minDirectFill  = 4 // at least 1 key per 4 values of the span
)

// tryDirect switches a hashed table whose keys are dense (at least one in
// minDirectFill of [lo, hi]) to the direct mode, with a window twice the
// span so the keys can spread further; a key outside it later switches
// back (toHashed). For dense keys that do not fit the first batch's range
// (symbol ids 0..N), the window holds 4 bytes per possible key, against
// the hash table's 16 per slot at half load and a cache miss more per
// lookup.
func (it *intTable) tryDirect() bool {
	if it.direct != nil || it.used == 0 || it.hi < it.lo {
		return false
	}
	span := uint64(it.hi - it.lo) // wraps for huge spans, caught below
	if span >= maxDenseDirect/2 || (span+1) > minDirectFill*uint64(it.used) {
		return false
	}
	size := uint64(1024)
	for size < 2*(span+1) {
		size *= 2
	}
	it.setWindow(it.lo, span, size)
	for _, sl := range it.slots {
		if sl.id != 0 {
			it.direct[sl.key-it.base] = sl.id
		}
	}
	it.slots, it.mask = nil, 0
	return true
}

// setWindow allocates a direct window of size ids around keys [lo,
// lo+span], centered without overflowing int64.
func (it *intTable) setWindow(lo int64, span, size uint64) {
	slack := int64((size - span - 1) / 2)
	base := lo
	if lo >= math.MinInt64+slack {
		base = lo - slack
	}
	if base > math.MaxInt64-int64(size)+1 {
		base = math.MaxInt64 - int64(size) + 1
	}
	it.direct = make([]uint32, size)
	it.base = base
}

type intSlot struct {
	key int64
	id  uint32
}

// maxDirect is the largest direct window (64K ids, 256 KiB: L2-resident).
const maxDirect = 1 << 16

// decide picks the table's mode from the first batch inserted into it:
// when its non-NULL keys span fewer than maxDirect/4 values, ids live in a
// direct array indexed by key-base (a "perfect hash" for small key ranges,
// as DuckDB does from column statistics); otherwise, and from the first
// key that falls outside that window on, they live in the hash table.
func (it *intTable) decide(vals any, vm []byte, off int) {
	var lo, hi int64
	var ok bool
	switch v := vals.(type) {
	case []int64:
		lo, hi, ok = keyRange(v, vm, off)
	case []int32:
		lo, hi, ok = keyRange(v, vm, off)
	case []int16:
		lo, hi, ok = keyRange(v, vm, off)
	default:
		it.decided = true // other integer-like types: always hashed
		return
	}
	if !ok {
		return // only NULLs so far: decide on a later batch
	}
	it.decided = true
	span := uint64(hi - lo) // wraps for huge spans, caught by the check below
	if hi < lo || span >= maxDirect/4 || it.used > 0 {
		return
	}
	size := uint64(1024)
	for size < 4*(span+1) {
		size *= 2
	}
	it.setWindow(lo, span, size)
}

// keyRange returns the smallest and largest non-NULL key (ok=false: none).
func keyRange[T ~int16 | ~int32 | ~int64](vals []T, vm []byte, off int) (lo, hi int64, ok bool) {
	for i, v := range vals {
		if vm != nil && !bitutil.BitIsSet(vm, off+i) {
			continue
		}
		k := int64(v)
		if !ok {
			lo, hi, ok = k, k, true
			continue
		}
		lo, hi = min(lo, k), max(hi, k)
	}
	return lo, hi, ok
}

// toHashed moves the direct window's ids into the hash table for good.
func (it *intTable) toHashed() {
	size := max(len(it.slots), 64)
	for it.used*2 > size {
		size *= 2
	}
	it.slots = make([]intSlot, size)
	it.mask = uint64(size - 1)
	first := true
	for d, id := range it.direct {
		if id == 0 {
			continue
		}
		k := it.base + int64(d)
		if first {
			it.lo, it.hi, first = k, k, false
		}
		it.hi = k // ascending
		s := it.slotOf(k)
		for it.slots[s].id != 0 {
			s = (s + 1) & it.mask
		}
		it.slots[s] = intSlot{key: k, id: id}
	}
	it.direct = nil
}

func (it *intTable) init() {
	it.slots = make([]intSlot, 64)
	it.mask = 63
}

// slotOf mixes k fully (multiplicative hashing alone clusters keys that
// are themselves multiples of a large odd constant).
func (it *intTable) slotOf(k int64) uint64 { return vec.HashU64(uint64(k)) & it.mask }

func (it *intTable) findHashed(k int64, h uint64) uint32 {
	s := h & it.mask
	for {
		sl := &it.slots[s]
		if sl.id == 0 {
			return NoGroup
		}
		if sl.key == k {
			return sl.id - 1
		}
		s = (s + 1) & it.mask
	}
}

// findOrInsertHashed returns k's group (h = vec.HashU64(k)), giving it id next when absent.
func (it *intTable) findOrInsertHashed(k int64, h uint64, next uint32) (uint32, bool) {
	s := h & it.mask
	for {
		sl := &it.slots[s]
		if sl.id == 0 {
			break
		}
		if sl.key == k {
			return sl.id - 1, false
		}
		s = (s + 1) & it.mask
	}
	it.slots[s] = intSlot{key: k, id: next + 1}
	it.order = append(it.order, k)
	if it.used == 0 {
		it.lo, it.hi = k, k
	} else {
		it.lo, it.hi = min(it.lo, k), max(it.hi, k)
	}
	it.used++
	if it.used*2 > len(it.slots) {
		it.grow()
		it.recheck = true
	}
	return next, true
}

func (it *intTable) grow() {
	old := it.slots
	it.slots = make([]intSlot, len(old)*2)
	it.mask = uint64(len(it.slots) - 1)
	for _, sl := range old {
		if sl.id == 0 {
			continue
		}
		s := it.slotOf(sl.key)
		for it.slots[s].id != 0 {
			s = (s + 1) & it.mask
		}
		it.slots[s] = sl
	}
}

func (it *intTable) memoryBytes() int64 {
	return int64(cap(it.slots))*16 + int64(cap(it.order))*8 + int64(cap(it.direct))*4
}

// bytesTable is an open-addressing hash table from byte strings (kept in an
// arena) to group ids.
type bytesTable struct {
	slots []bytesSlot
	mask  uint64
	used  int
	arena []byte
	ends  []int // ends[id] is the end of key id in arena; starts at ends[id-1]
}

type bytesSlot struct {
	hash uint64
	id   uint32 // group id + 1; 0 = empty
}

func (bt *bytesTable) init() {
	bt.slots = make([]bytesSlot, 64)
	bt.mask = 63
}

func (bt *bytesTable) key(id uint32) []byte {
	start := 0
	if id > 0 {
		start = bt.ends[id-1]
	}
	return bt.arena[start:bt.ends[id]]
}

// appendKey stores k as the key of the next id (also used for the NULL
// group, whose stored key is never looked up).
func (bt *bytesTable) appendKey(k []byte) {
	bt.arena = append(bt.arena, k...)
	bt.ends = append(bt.ends, len(bt.arena))
}

func (bt *bytesTable) find(k []byte, h uint64) uint32 {
	s := h & bt.mask
	for {
		sl := &bt.slots[s]
		if sl.id == 0 {
			return NoGroup
		}
		if sl.hash == h && bytes.Equal(bt.key(sl.id-1), k) {
			return sl.id - 1
		}
		s = (s + 1) & bt.mask
	}
}

func (bt *bytesTable) findOrInsert(k []byte, h uint64, next uint32) (uint32, bool) {
	s := h & bt.mask
	for {
		sl := &bt.slots[s]
		if sl.id == 0 {
			break
		}
		if sl.hash == h && bytes.Equal(bt.key(sl.id-1), k) {
			return sl.id - 1, false
		}
		s = (s + 1) & bt.mask
	}
	bt.slots[s] = bytesSlot{hash: h, id: next + 1}
	bt.appendKey(k)
	bt.used++
	if bt.used*2 > len(bt.slots) {
		bt.grow()
	}
	return next, true
}

func (bt *bytesTable) grow() {
	old := bt.slots
	bt.slots = make([]bytesSlot, len(old)*2)
	bt.mask = uint64(len(bt.slots) - 1)
	for _, sl := range old {
		if sl.id == 0 {
			continue
		}
		s := sl.hash & bt.mask
		for bt.slots[s].id != 0 {
			s = (s + 1) & bt.mask
		}
		bt.slots[s] = sl
	}
}

func (bt *bytesTable) memoryBytes() int64 {
	return int64(cap(bt.slots))*16 + int64(cap(bt.arena)) + int64(cap(bt.ends))*8
}

// TakeKeys returns the keys of groups ids, in that order, as an array of
// type dt (the key column's Arrow type), for tables of one integer-like
// or text/bytea key column, which keep their keys by group id. ok is false
// when the table cannot do that (several key columns, a dt that does not
// match the stored keys): the caller keeps the keys itself. Every id must
// be < Len(). The caller releases the array.
func (t *GroupTable) TakeKeys(mem memory.Allocator, dt arrow.DataType, ids []uint32) (arrow.Array, bool) {
	switch t.kind {
	case kindInt:
		if t.bytes.used > 0 || len(t.ints.order) != t.n {
			return nil, false // keys went through the fallback path
		}
		switch dt.ID() {
		case arrow.INT16:
			return takeIntKeys[int16](mem, dt, t.ints.order, t.nullID, ids), true
		case arrow.INT32, arrow.DATE32:
			return takeIntKeys[int32](mem, dt, t.ints.order, t.nullID, ids), true
		case arrow.INT64, arrow.TIME64, arrow.TIMESTAMP:
			return takeIntKeys[int64](mem, dt, t.ints.order, t.nullID, ids), true
		}
	case kindBytes:
		if (dt.ID() != arrow.STRING && dt.ID() != arrow.BINARY) || len(t.bytes.ends) != t.n {
			return nil, false
		}
		size := 0
		for _, g := range ids {
			size += len(t.bytes.key(g))
		}
		if size > math.MaxInt32 {
			return nil, false // beyond 32-bit offsets
		}
		return t.takeBytesKeys(mem, dt, ids, size), true
	}
	return nil, false
}

// keyValidity returns a validity bitmap for ids when one of them is the
// NULL group (else nil) and the NULL count.
func keyValidity(mem memory.Allocator, nullID uint32, ids []uint32) (*memory.Buffer, int) {
	if nullID == NoGroup {
		return nil, 0
	}
	var vb *memory.Buffer
	nulls := 0
	for k, g := range ids {
		if g != nullID {
			continue
		}
		if vb == nil {
			vb = memory.NewResizableBuffer(mem)
			vb.Resize(int(bitutil.BytesForBits(int64(len(ids)))))
			bitutil.SetBitsTo(vb.Bytes(), 0, int64(len(ids)), true)
		}
		bitutil.ClearBit(vb.Bytes(), k)
		nulls++
	}
	return vb, nulls
}

func takeIntKeys[T int16 | int32 | int64](mem memory.Allocator, dt arrow.DataType, order []int64, nullID uint32, ids []uint32) arrow.Array {
	var z T
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(len(ids) * int(unsafe.Sizeof(z)))
	if len(ids) > 0 {
		dst := arrow.GetData[T](buf.Bytes())[:len(ids)]
		for k, g := range ids {
			dst[k] = T(order[g]) // the NULL group's entry is 0
		}
	}
	vb, nulls := keyValidity(mem, nullID, ids)
	return vec.WrapBuffers(dt, len(ids), []*memory.Buffer{vb, buf}, nil, nulls)
}

func (t *GroupTable) takeBytesKeys(mem memory.Allocator, dt arrow.DataType, ids []uint32, size int) arrow.Array {
	bt := &t.bytes
	offs := memory.NewResizableBuffer(mem)
	offs.Resize(4 * (len(ids) + 1))
	data := memory.NewResizableBuffer(mem)
	data.Resize(size)
	o := arrow.GetData[int32](offs.Bytes())[:len(ids)+1]
	d := data.Bytes()
	end := 0
	o[0] = 0
	for k, g := range ids {
		end += copy(d[end:], bt.key(g))
		o[k+1] = int32(end)
	}
	vb, nulls := keyValidity(mem, t.nullID, ids)
	return vec.WrapBuffers(dt, len(ids), []*memory.Buffer{vb, offs, data}, nil, nulls)
}
