package stream

import (
	"bytes"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// joinSide is one input's state in a HashJoin: a columnar side table.
//
// Rows live in segments — input batches the side retains — and a row is
// named by a rowRef into them, so nothing is boxed per row. Entries are
// rows with a multiplicity (rows equal under SQL equality, vec.AppendRowKey,
// cancel each other; see add), grouped into buckets by join key. Buckets
// are found through byKey: for a single integer key column the key's value
// is the map key itself, otherwise the key's hash, with the encoded key kept
// in the bucket to resolve collisions (buckets with equal hashes chain
// through next). A bucket's entries form a linked list in arrival order;
// big buckets also index them by row hash, so a delete finds its row
// without a scan.
//
// An entry whose multiplicity reaches 0 is freed (tombstoned) and its
// segment's live count drops; segments with no live entries are released,
// and when the retained segments hold more than twice the live rows (plus
// slack) the side compacts them into one batch of the live rows.
type joinSide struct {
	schema *arrow.Schema
	ts     []types.T
	keys   []int
	intKey bool // one key column of an integer-like Arrow type: byKey is keyed by value

	segs     []arrow.RecordBatch // nil: free slot
	segLive  []int32             // live entries per segment
	segSize  []int64             // batchBytes per segment
	segBytes int64               // batchBytes of all segments
	freeSegs []int32
	segRows  int // rows held by all segments
	dead     []int32
	slack    int // dead segment rows tolerated beyond the live ones (compactSlack)

	pages       [][]joinEntry // entries, entryPage per page (no copying as they grow)
	nEntries    int
	freeEntries []int32
	live        int
	datums      [][]types.Datum // per entry, only with a residual condition

	buckets     []joinBucket
	freeBuckets []int32
	byKey       keyTable

	// Memory accounting (see bytes): the bytes of the buckets' encoded
	// keys, the entries held in bucket indexes, and the boxed datums.
	keyBytes   int64
	indexed    int64
	datumBytes int64

	// Entries tracked for an interval join's band cleanup (join_band.go):
	// per entry its generation (genNext numbers them, never reset), and the
	// entries created since the band heaps last took them.
	track   bool
	gens    []uint64
	genNext uint64
	newEnts []newEnt

	// Per-chunk scratch.
	keyIDs  []uint64
	rowHash []uint64
	nullKey []bool
	enc     vec.KeyEncoder
	curKey  []byte
	curRow  int
	kbuf    []byte
}

// newEnt is an entry created in bucket b, of generation gen.
type newEnt struct {
	gen  uint64
	e, b int32
}

type joinEntry struct {
	ref rowRef
	n   int64 // multiplicity, never 0
	// matches counts the other side's rows (with multiplicity) this row
	// joins with under the residual condition (only with a condition).
	matches      int64
	hash         uint64
	prev, next   int32 // the bucket's doubly linked list of entries (-1 ends)
	hprev, hnext int32 // entries of equal hash in an indexed bucket (-1 ends)
}

// entryPage is the number of entries per page of a side's entry store.
const entryPage = 1024

// ent returns entry e.
func (sd *joinSide) ent(e int32) *joinEntry {
	return &sd.pages[e/entryPage][e%entryPage]
}

// allocEntry appends a zero entry and returns its number.
func (sd *joinSide) allocEntry() int32 {
	e := int32(sd.nEntries)
	if sd.nEntries%entryPage == 0 {
		sd.pages = append(sd.pages, make([]joinEntry, entryPage))
	}
	sd.nEntries++
	return e
}

// bigBucket is the entry count from which a bucket indexes its row hashes.
const bigBucket = 16

type joinBucket struct {
	key   string // encoded join key (hash-keyed sides only)
	id    uint64 // the key's id in byKey
	next  int32  // next bucket with the same key hash, or -1
	head  int32  // first entry, or -1
	tail  int32  // last entry, or -1
	count int32  // entries
	neg   int32  // entries with a negative multiplicity
	// stored: the side's spill table holds a copy of this bucket (it was
	// loaded from there); dirty: the bucket changed since it was loaded.
	// See join_spill.go.
	stored, dirty bool
	index         map[uint64]int32 // row hash → first entry of its hash chain (big buckets)
	total         int64            // sum of multiplicities
}

func newJoinSide(schema *arrow.Schema, ts []types.T, keys []int) *joinSide {
	sd := &joinSide{schema: schema, ts: ts, keys: keys, slack: compactSlack}
	if len(keys) == 1 {
		switch types.ArrowType(ts[keys[0]]).ID() {
		case arrow.INT16, arrow.INT32, arrow.INT64, arrow.DATE32, arrow.TIME64, arrow.TIMESTAMP:
			sd.intKey = true
		}
	}
	kts := make([]types.T, len(keys))
	for i, k := range keys {
		kts[i] = ts[k]
	}
	sd.enc.Types = kts
	return sd
}

// prepare computes the per-row key ids, NULL-key flags, encoded keys and
// row hashes of batch b.
func (sd *joinSide) prepare(b arrow.RecordBatch) error {
	n := int(b.NumRows())
	cols := b.Columns()
	keyCols := make([]arrow.Array, len(sd.keys))
	for i, k := range sd.keys {
		keyCols[i] = cols[k]
	}
	sd.keyIDs = grow(sd.keyIDs, n)
	sd.rowHash = grow(sd.rowHash, n)
	sd.nullKey = grow(sd.nullKey, n)
	clear(sd.nullKey)
	for _, kc := range keyCols {
		if kc.NullN() == 0 {
			continue
		}
		for i := 0; i < n; i++ {
			if kc.IsNull(i) {
				sd.nullKey[i] = true
			}
		}
	}
	if sd.intKey {
		if !intKeyIDs(keyCols[0], sd.keyIDs) {
			return pgerror.Internal("stream: join key column is %s, want an integer type", keyCols[0].DataType())
		}
	} else {
		vec.HashColumns(keyCols, sd.keyIDs, sd.enc.Types...)
		sd.enc.Encode(keyCols)
	}
	vec.HashColumns(cols, sd.rowHash, sd.ts...)
	sd.curRow = -1
	return nil
}

// intKeyIDs writes the values of an integer-like column as key ids; false
// if the array is of another type.
func intKeyIDs(a arrow.Array, out []uint64) bool {
	switch a := a.(type) {
	case *array.Int16:
		for i, v := range a.Int16Values() {
			out[i] = uint64(int64(v))
		}
	case *array.Int32:
		for i, v := range a.Int32Values() {
			out[i] = uint64(int64(v))
		}
	case *array.Int64:
		for i, v := range a.Int64Values() {
			out[i] = uint64(v)
		}
	case *array.Date32:
		for i, v := range a.Date32Values() {
			out[i] = uint64(int64(v))
		}
	case *array.Time64:
		for i, v := range a.Time64Values() {
			out[i] = uint64(int64(v))
		}
	case *array.Timestamp:
		for i, v := range a.TimestampValues() {
			out[i] = uint64(int64(v))
		}
	default:
		return false
	}
	return true
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// key returns row i's encoded key (nil on integer-keyed sides).
func (sd *joinSide) key(i int) []byte {
	if sd.intKey {
		return nil
	}
	return sd.enc.Key(i)
}

// find returns the bucket of key (id, key), or -1.
func (sd *joinSide) find(id uint64, key []byte) int32 {
	b, ok := sd.byKey.get(id)
	if !ok {
		return -1
	}
	if sd.intKey {
		return b
	}
	for b >= 0 && sd.buckets[b].key != string(key) {
		b = sd.buckets[b].next
	}
	return b
}

// bucket returns the bucket of key (id, key), creating it.
func (sd *joinSide) bucket(id uint64, key []byte) int32 {
	if b := sd.find(id, key); b >= 0 {
		return b
	}
	var b int32
	if n := len(sd.freeBuckets); n > 0 {
		b = sd.freeBuckets[n-1]
		sd.freeBuckets = sd.freeBuckets[:n-1]
	} else {
		b = int32(len(sd.buckets))
		sd.buckets = append(sd.buckets, joinBucket{})
	}
	bk := &sd.buckets[b]
	bk.next, bk.head, bk.tail, bk.id = -1, -1, -1, id
	if !sd.intKey {
		bk.key = string(key)
		sd.keyBytes += int64(len(key))
		if head, ok := sd.byKey.get(id); ok {
			bk.next = head
		}
	}
	sd.byKey.put(id, b)
	return b
}

// dropBucket unlinks the empty bucket b of key id and frees it.
func (sd *joinSide) dropBucket(id uint64, b int32) {
	next := sd.buckets[b].next
	if head, _ := sd.byKey.get(id); head == b {
		if next >= 0 {
			sd.byKey.put(id, next)
		} else {
			sd.byKey.del(id)
		}
	} else {
		p := head
		for sd.buckets[p].next != b {
			p = sd.buckets[p].next
		}
		sd.buckets[p].next = next
	}
	sd.keyBytes -= int64(len(sd.buckets[b].key))
	sd.buckets[b] = joinBucket{}
	sd.freeBuckets = append(sd.freeBuckets, b)
}

// addSeg retains b as a segment and returns its number.
func (sd *joinSide) addSeg(b arrow.RecordBatch) int32 {
	b.Retain()
	sd.segRows += int(b.NumRows())
	size := batchBytes(b)
	sd.segBytes += size
	if n := len(sd.freeSegs); n > 0 {
		s := sd.freeSegs[n-1]
		sd.freeSegs = sd.freeSegs[:n-1]
		sd.segs[s], sd.segLive[s], sd.segSize[s] = b, 0, size
		return s
	}
	sd.segs = append(sd.segs, b)
	sd.segLive = append(sd.segLive, 0)
	sd.segSize = append(sd.segSize, size)
	return int32(len(sd.segs) - 1)
}

// sweep releases the segments that hold no live entry (cur, the chunk's
// own segment, included).
func (sd *joinSide) sweep(cur int32) {
	sd.dead = append(sd.dead, cur)
	sd.sweepDead()
}

// curRowKey is the exact-row key of row i of the current chunk's batch b.
func (sd *joinSide) curRowKey(b arrow.RecordBatch, i int) []byte {
	if sd.curRow != i {
		sd.curKey = vec.AppendRowKey(sd.curKey[:0], b.Columns(), sd.ts, i)
		sd.curRow = i
	}
	return sd.curKey
}

// same reports whether entry e holds the same row as row i of b.
func (sd *joinSide) same(e int32, b arrow.RecordBatch, i int) bool {
	ref := sd.ent(e).ref
	sd.kbuf = vec.AppendRowKey(sd.kbuf[:0], sd.segs[ref.seg].Columns(), sd.ts, int(ref.row))
	return bytes.Equal(sd.kbuf, sd.curRowKey(b, i))
}

// findOpposite returns an entry of bucket bk holding row i of b with a
// multiplicity of the sign opposite to sg, or -1.
func (sd *joinSide) findOpposite(bk *joinBucket, b arrow.RecordBatch, i int, sg int64) int32 {
	h := sd.rowHash[i]
	if bk.index != nil {
		e, ok := bk.index[h]
		if !ok {
			return -1
		}
		for ; e >= 0; e = sd.ent(e).hnext {
			if sd.ent(e).n*sg < 0 && sd.same(e, b, i) {
				return e
			}
		}
		return -1
	}
	for e := bk.head; e >= 0; e = sd.ent(e).next {
		en := sd.ent(e)
		if en.hash == h && en.n*sg < 0 && sd.same(e, b, i) {
			return e
		}
	}
	return -1
}

// add applies sign sg for row i of the chunk (stored as ref) to bucket b
// and returns the entry that now holds the row, or -1 if the change
// cancelled an entry out. vals are the row's datums, kept only with a
// residual condition.
//
// Equal rows may sit in several entries, but never with multiplicities of
// both signs: a change first cancels against an entry of the opposite sign
// and only otherwise becomes an entry of its own. So the positive entries
// of a row sum to max(net count, 0), and an insert into a bucket without
// negative entries is a plain append.
func (sd *joinSide) add(b int32, batch arrow.RecordBatch, i int, ref rowRef, sg int64, vals []types.Datum) int32 {
	bk := &sd.buckets[b]
	bk.total += sg
	bk.dirty = true
	if sg < 0 || bk.neg > 0 {
		if e := sd.findOpposite(bk, batch, i, sg); e >= 0 {
			en := sd.ent(e)
			en.n += sg
			if en.n != 0 {
				return e
			}
			if sg > 0 {
				bk.neg--
			}
			sd.unlink(bk, e)
			sd.freeEntry(e)
			return -1
		}
	}
	return sd.newEntry(b, ref, sg, sd.rowHash[i], vals)
}

// newEntry appends an entry for the row ref names with multiplicity n
// (row hash h, datums vals with a residual condition) to bucket bk and
// returns it. The caller keeps bk.total.
func (sd *joinSide) newEntry(b int32, ref rowRef, n int64, h uint64, vals []types.Datum) int32 {
	bk := &sd.buckets[b]
	var e int32
	if k := len(sd.freeEntries); k > 0 {
		e = sd.freeEntries[k-1]
		sd.freeEntries = sd.freeEntries[:k-1]
	} else {
		e = sd.allocEntry()
		if vals != nil {
			sd.datums = append(sd.datums, nil)
		}
	}
	*sd.ent(e) = joinEntry{ref: ref, n: n, hash: h, prev: bk.tail, next: -1, hprev: -1, hnext: -1}
	if bk.tail >= 0 {
		sd.ent(bk.tail).next = e
	} else {
		bk.head = e
	}
	bk.tail = e
	bk.count++
	if n < 0 {
		bk.neg++
	}
	if vals != nil {
		sd.datums[e] = vals
		sd.datumBytes += rowBytes(vals)
	}
	sd.segLive[ref.seg]++
	sd.live++
	if sd.track {
		if n := sd.nEntries - len(sd.gens); n > 0 {
			sd.gens = append(sd.gens, make([]uint64, n)...)
		}
		sd.genNext++
		sd.gens[e] = sd.genNext
		sd.newEnts = append(sd.newEnts, newEnt{gen: sd.genNext, e: e, b: b})
	}
	switch {
	case bk.index != nil:
		sd.indexEntry(bk, e)
		sd.indexed++
	case bk.count >= bigBucket:
		sd.buildIndex(bk)
	}
	return e
}

// buildIndex indexes the row hashes of bucket bk's entries, in list order
// (so a hash chain lists equal hashes newest first).
func (sd *joinSide) buildIndex(bk *joinBucket) {
	bk.index = make(map[uint64]int32, 2*bk.count)
	sd.indexed += int64(bk.count)
	for x := bk.head; x >= 0; x = sd.ent(x).next {
		sd.indexEntry(bk, x)
	}
}

// indexEntry puts entry e at the head of its hash chain in bk's index.
func (sd *joinSide) indexEntry(bk *joinBucket, e int32) {
	en := sd.ent(e)
	en.hprev, en.hnext = -1, -1
	if first, ok := bk.index[en.hash]; ok {
		en.hnext = first
		sd.ent(first).hprev = e
	}
	bk.index[en.hash] = e
}

// unlink removes entry e from bucket bk's list (and hash chain).
func (sd *joinSide) unlink(bk *joinBucket, e int32) {
	en := sd.ent(e)
	if en.prev >= 0 {
		sd.ent(en.prev).next = en.next
	} else {
		bk.head = en.next
	}
	if en.next >= 0 {
		sd.ent(en.next).prev = en.prev
	} else {
		bk.tail = en.prev
	}
	if bk.index != nil {
		switch {
		case en.hprev >= 0:
			sd.ent(en.hprev).hnext = en.hnext
		case en.hnext >= 0:
			bk.index[en.hash] = en.hnext
		default:
			delete(bk.index, en.hash)
		}
		if en.hnext >= 0 {
			sd.ent(en.hnext).hprev = en.hprev
		}
	}
	if bk.index != nil {
		sd.indexed--
	}
	bk.count--
	if bk.count == 0 {
		bk.index = nil
	}
}

func (sd *joinSide) freeEntry(e int32) {
	s := sd.ent(e).ref.seg
	sd.segLive[s]--
	if sd.segLive[s] == 0 {
		sd.dead = append(sd.dead, s)
	}
	*sd.ent(e) = joinEntry{}
	if sd.datums != nil {
		sd.datumBytes -= rowBytes(sd.datums[e])
		sd.datums[e] = nil
	}
	sd.freeEntries = append(sd.freeEntries, e)
	sd.live--
}

// compactSlack is the number of dead rows a side tolerates in its segments
// beyond as many as it has live rows.
const compactSlack = 4096

// maybeCompact rewrites the segments into one batch of the live rows once
// they hold more than twice the live rows plus the slack.
func (sd *joinSide) maybeCompact(mem memory.Allocator) error {
	if sd.segRows <= 2*sd.live+sd.slack {
		return nil
	}
	return sd.compact(mem)
}

func (sd *joinSide) compact(mem memory.Allocator) error {
	refs := make([]rowRef, 0, sd.live)
	ids := make([]int32, 0, sd.live)
	for e := range int32(sd.nEntries) {
		if sd.ent(e).n != 0 {
			refs = append(refs, sd.ent(e).ref)
			ids = append(ids, int32(e))
		}
	}
	if len(refs) == 0 {
		sd.release()
		return nil
	}
	cols := make([]arrow.Array, sd.schema.NumFields())
	for c := range cols {
		a, err := gatherColumn(mem, sd.schema.Field(c).Type, sd.ts[c], sd.segs, c, refs)
		if err != nil {
			for _, x := range cols[:c] {
				x.Release()
			}
			return err
		}
		cols[c] = a
	}
	nb := array.NewRecordBatch(sd.schema, cols, int64(len(refs)))
	for _, a := range cols {
		a.Release()
	}
	for _, s := range sd.segs {
		if s != nil {
			s.Release()
		}
	}
	sd.segs = append(sd.segs[:0], nb)
	sd.segLive = append(sd.segLive[:0], int32(len(refs)))
	sd.segBytes = batchBytes(nb)
	sd.segSize = append(sd.segSize[:0], sd.segBytes)
	sd.freeSegs, sd.dead = sd.freeSegs[:0], sd.dead[:0]
	sd.segRows = len(refs)
	for k, e := range ids {
		sd.ent(e).ref = rowRef{seg: 0, row: int32(k)}
	}
	return nil
}

// release drops every segment.
func (sd *joinSide) release() {
	for _, s := range sd.segs {
		if s != nil {
			s.Release()
		}
	}
	*sd = joinSide{schema: sd.schema, ts: sd.ts, keys: sd.keys, intKey: sd.intKey, slack: sd.slack, enc: vec.KeyEncoder{Types: sd.enc.Types},
		track: sd.track, genNext: sd.genNext}
}

// Per-structure sizes of a join side (64-bit).
const (
	joinEntryBytes  = 48 // joinEntry
	joinBucketBytes = 64 // joinBucket
	keySlotBytes    = 16 // keySlot
	// joinIndexBytes is one entry of a big bucket's row-hash index
	// (map[uint64]int32: key, value, control byte and load slack).
	joinIndexBytes = 24
)

// bytes estimates the memory the side holds: retained segments, the entry
// pages, buckets and their keys and indexes, the key table, boxed datums
// and the per-chunk scratch, which stays allocated between chunks. It is
// O(1): every term is a counter or a capacity.
func (sd *joinSide) bytes() int64 {
	n := sd.segBytes
	n += int64(cap(sd.segs))*(2*ptrBytes) + int64(cap(sd.segLive))*4 + int64(cap(sd.segSize))*8 + int64(cap(sd.freeSegs))*4
	n += int64(len(sd.pages))*entryPage*joinEntryBytes + int64(cap(sd.pages))*sliceBytes + int64(cap(sd.freeEntries))*4
	n += int64(cap(sd.buckets))*joinBucketBytes + sd.keyBytes + int64(cap(sd.freeBuckets))*4
	n += sd.indexed * joinIndexBytes
	n += int64(len(sd.byKey.slots)) * keySlotBytes
	n += sd.datumBytes + int64(cap(sd.datums))*sliceBytes
	n += int64(cap(sd.keyIDs))*8 + int64(cap(sd.rowHash))*8 + int64(cap(sd.nullKey))
	n += int64(cap(sd.gens))*8 + int64(cap(sd.newEnts))*16
	return n
}
