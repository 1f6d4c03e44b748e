package state

import (
	"bytes"
	"context"
	"math"
	"slices"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// Appender is implemented by tables with a write path for rows under
// fresh keys: Append puts each row of values under its key, like Write
// with every op OpPut, but the caller promises that the keys ascend
// strictly, that the first is above every key an earlier Append stored,
// and that no other write has ever stored them. A table may then skip
// its point index: a materialized view in bag mode, whose rows take fresh
// row ids, writes that way. A call that breaks the promise fails (an
// internal error) and changes nothing. The rows are ordinary rows
// afterwards: Get, Scan, snapshots, Write (puts over them, deletes),
// Update and CleanBelow treat them as any other. (MemoryTable's FixedView
// is the exception: it reads and writes through the hash index only, so
// a table is written by Append or read through a FixedView, not both;
// bag views, the one caller, have no fixed key layout.)
type Appender interface {
	Append(ctx context.Context, keys [][]byte, values arrow.RecordBatch) error
}

var _ Appender = (*MemoryTable)(nil)

// appendLog holds a memory table's appended rows outside its hash index:
// their keys in ascending order (in byte blocks), the version
// slot of each (the values live in the table's columns like any other
// version's), the epoch each was committed at as runs of rows (rows are
// appended in epoch order), and deletes.
//
// A key lives in the log or in the index, or — after a put over an
// appended row — in both, the log row then deleted no later than the
// index entry's first version: addAt deletes the log row of a key it
// adds. A reader takes the key's index version when one is visible, else
// the log row when it is visible, which is the key's history either way.
//
//	row i:   key  = blocks[ref>>44][ref>>24&(1<<20-1):][:ref&(1<<24-1)]
//	         (ref = refs[i]; a key lies in one block, of keyBlock
//	         bytes or, for a longer key, its own)
//	         slot = slots[i]
//	         committed at runs[j].e for the last run with from <= i,
//	         pending (uncommitted) when i >= pend
//	         deleted at del[i] (uncommitted while pending), if present
//
// The per-row arrays are segmented (segArr) and the keys in blocks, so
// growing the log copies nothing.
type appendLog struct {
	blocks [][]byte
	kbytes int64 // key bytes in blocks
	refs   segArr[uint64]
	slots  segArr[int32]
	runs   []logRun
	pend   int
	del    map[int32]Epoch
	pdel   []int32 // rows deleted in the pending epoch
	kept   int     // deletes a compaction had to keep (pinned)
}

// logRun is rows from `from` on committed at epoch e.
type logRun struct {
	from int
	e    Epoch
}

// logRowBytes is what a log row costs besides its key and slot: its key
// reference and slot number.
const logRowBytes = 12

// keyBlock is the size of a log key block (the first grows by doubling up
// to it).
const keyBlock = 1 << 20

// logCompactMin is the fewest deleted rows a log compaction removes (or
// MemoryOptions.CompactMin, when smaller: tests make it tiny).
const logCompactMin = 4096

func (l *appendLog) n() int { return l.refs.n }

func (l *appendLog) key(i int) []byte {
	r := l.refs.get(int32(i))
	off, n := r>>24&(keyBlock-1), r&(1<<24-1)
	return l.blocks[r>>44][off : off+n : off+n]
}

// addKey appends row key k with its slot.
func (l *appendLog) addKey(k []byte, slot int32) {
	l.refs.resize(l.refs.n + 1)
	l.slots.resize(l.slots.n + 1)
	l.setKey(int32(l.refs.n-1), k, slot)
}

// setKey stores k and slot as row i (the arrays already hold it): the
// key goes at the end of the last block.
func (l *appendLog) setKey(i int32, k []byte, slot int32) {
	b := len(l.blocks) - 1
	switch {
	case len(k) > keyBlock:
		l.blocks = append(l.blocks, slices.Clone(k))
		b++
	case b < 0 || len(l.blocks[b])+len(k) > cap(l.blocks[b]):
		if b == 0 && cap(l.blocks[0]) < keyBlock {
			// Block 0 grows by doubling (a small log stays small).
			nb := make([]byte, len(l.blocks[0]), min(keyBlock, max(2*cap(l.blocks[0]), len(l.blocks[0])+len(k))))
			copy(nb, l.blocks[0])
			l.blocks[0] = nb
			if len(nb)+len(k) <= cap(nb) {
				break
			}
		}
		size := keyBlock
		if b < 0 {
			size = max(256, len(k))
		}
		l.blocks = append(l.blocks, make([]byte, 0, size))
		b++
	}
	off := len(l.blocks[b])
	l.blocks[b] = append(l.blocks[b], k...)
	l.kbytes += int64(len(k))
	l.refs.set(i, uint64(b)<<44|uint64(off)<<24|uint64(len(k)))
	l.slots.set(i, slot)
}

// addKeys appends rows of keys with their slots; the common case (the
// key fits the last block) inline.
func (l *appendLog) addKeys(keys [][]byte, slots []int32) {
	r0 := l.n()
	l.refs.resize(r0 + len(keys))
	l.slots.resize(r0 + len(keys))
	b := len(l.blocks) - 1
	var blk []byte
	if b >= 0 {
		blk = l.blocks[b]
	}
	var kb int64
	for i, k := range keys {
		r := int32(r0 + i)
		if b < 0 || len(blk)+len(k) > cap(blk) {
			if b >= 0 {
				l.blocks[b] = blk
			}
			l.setKey(r, k, slots[i])
			b = len(l.blocks) - 1
			blk = l.blocks[b]
			continue
		}
		off := len(blk)
		blk = append(blk, k...)
		kb += int64(len(k))
		l.refs.set(r, uint64(b)<<44|uint64(off)<<24|uint64(len(k)))
		l.slots.set(r, slots[i])
	}
	l.blocks[b] = blk
	l.kbytes += kb
}

// putRun stores a column of values without NULLs in the consecutive
// slots from s0 on with bulk copies when c is a fixed-width column
// without NULLs, and reports whether it did.
func putRun(c memCol, s0 int, a arrow.Array) bool {
	switch c := c.(type) {
	case *fixedCol[uint64]:
		return putRunFixed(c, s0, a)
	case *fixedCol[uint32]:
		return putRunFixed(c, s0, a)
	case *fixedCol[uint16]:
		return putRunFixed(c, s0, a)
	case *fixedCol[uint8]:
		return putRunFixed(c, s0, a)
	}
	return false
}

func putRunFixed[T uint8 | uint16 | uint32 | uint64](c *fixedCol[T], s0 int, a arrow.Array) bool {
	n := a.Len()
	if n == 0 || a.NullN() != 0 || c.valid.n != 0 {
		return false
	}
	d := a.Data()
	buf := d.Buffers()[1]
	if buf == nil {
		return false
	}
	raw := buf.Bytes()
	var z T
	src := unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(raw))), len(raw)/int(unsafe.Sizeof(z)))[d.Offset():][:n]
	for done := 0; done < n; {
		s := s0 + done
		done += copy(c.vals.s[s>>segShift][s&segMask:], src[done:])
	}
	return true
}

// bytes is the log's footprint (not counting the slots' values).
func (l *appendLog) bytes() int64 {
	return l.kbytes + int64(l.n())*logRowBytes + int64(len(l.runs))*16 + int64(len(l.del))*16
}

// search is the first row whose key is at least k.
func (l *appendLog) search(k []byte) int {
	lo, hi := 0, l.n()
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if bytes.Compare(l.key(mid), k) < 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// find is the row of key k, or -1.
func (l *appendLog) find(k []byte) int {
	n := l.n()
	if n == 0 || bytes.Compare(k, l.key(0)) < 0 || bytes.Compare(k, l.key(n-1)) > 0 {
		return -1
	}
	if i := l.search(k); i < n && bytes.Equal(l.key(i), k) {
		return i
	}
	return -1
}

// epoch is the epoch row i was committed at (uncommitted: pending).
func (l *appendLog) epoch(i int) Epoch {
	if i >= l.pend {
		return uncommitted
	}
	j, found := slices.BinarySearchFunc(l.runs, i, func(r logRun, i int) int { return r.from - i })
	if !found {
		j--
	}
	return l.runs[j].e
}

// visible reports whether row i is visible at epoch at (MaxEpoch: the
// writer view).
func (l *appendLog) visible(i int, at Epoch) bool {
	switch {
	case i >= l.pend:
		if at < uncommitted {
			return false
		}
	case at >= l.runs[len(l.runs)-1].e:
		// Every committed row: a read at the latest epoch needs no search.
	case l.epoch(i) > at:
		return false
	}
	if len(l.del) > 0 {
		if d, ok := l.del[int32(i)]; ok && d <= at {
			return false
		}
	}
	return true
}

// remove deletes row i in the pending epoch (if it is not deleted yet).
func (l *appendLog) remove(i int) {
	if _, ok := l.del[int32(i)]; ok {
		return
	}
	if l.del == nil {
		l.del = map[int32]Epoch{}
	}
	l.del[int32(i)] = uncommitted
	l.pdel = append(l.pdel, int32(i))
}

// removeKey deletes the row of key k in the pending epoch, if the log
// holds it.
func (l *appendLog) removeKey(k []byte) {
	if i := l.find(k); i >= 0 {
		l.remove(i)
	}
}

// Append implements Appender: the rows go to the table's append log
// (no index entry, no key order); their values take version slots in the
// columns as Write's do.
func (m *MemoryTable) Append(ctx context.Context, keys [][]byte, values arrow.RecordBatch) error {
	keyBytes, err := m.checkWrite(ctx, keys, nil, values)
	if err != nil {
		return err
	}
	for i := 1; i < len(keys); i++ {
		if bytes.Compare(keys[i-1], keys[i]) >= 0 {
			return pgerror.Internal("state: appended keys do not ascend at row %d", i)
		}
	}
	n := len(keys)
	if n == 0 {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	l := &m.app
	if l.n() > 0 && bytes.Compare(keys[0], l.key(l.n()-1)) <= 0 {
		return pgerror.Internal("state: appended key at or below the last appended key")
	}
	if m.nslots+n > math.MaxInt32-1 || l.n()+n > math.MaxInt32-1 || len(l.blocks)+n >= 1<<20 {
		return pgerror.New(pgerror.ProgramLimitExceeded, "memory state table holds too many versions")
	}
	if m.tabN > 0 {
		ids := slices.Grow(m.ids[:0], n)[:n]
		m.ids = ids
		m.findLocked(keys, ids)
		for i, id := range ids {
			if id >= 0 {
				return pgerror.Internal("state: appended key %x is already stored (row %d)", keys[i], i)
			}
		}
	}
	need := m.footprintLocked() + keyBytes + int64(n)*(logRowBytes+m.perSlotBytes())
	for j, c := range m.cols {
		need += c.prepare(values.Column(j), nil)
	}
	if err := m.charge.ensure(ctx, need); err != nil {
		return err
	}
	m.resizeSlots(m.nslots + n)
	dst := slices.Grow(m.dst[:0], n)[:n]
	m.dst = dst
	run := len(m.freeSlots) == 0
	if run {
		// Fresh slots, in order: no free list to pop.
		s0 := int32(m.nslots)
		for i := range dst {
			dst[i] = s0 + int32(i)
		}
		m.nslots += n
	} else {
		for i := range dst {
			dst[i] = m.allocSlot(slotMeta{})
		}
	}
	for j, c := range m.cols {
		if !run || !putRun(c, int(dst[0]), values.Column(j)) {
			c.put(dst, values.Column(j))
		}
	}
	l.addKeys(keys, dst)
	return nil
}

// appLookupLocked resolves in the append log the keys whose src is -1
// (no index version visible at epoch at): src[i] becomes the log row's
// slot when it is visible.
func (m *MemoryTable) appLookupLocked(keys [][]byte, src []int32, at Epoch) {
	l := &m.app
	if l.n() == 0 {
		return
	}
	for i, s := range src {
		if s >= 0 {
			continue
		}
		if r := l.find(keys[i]); r >= 0 && l.visible(r, at) {
			src[i] = l.slots.get(int32(r))
		}
	}
}

// appCleanBelowLocked deletes, in the pending epoch, every appended row
// below the watermark (rows appended later in the epoch stay: they are
// above the log's current last key).
func (m *MemoryTable) appCleanBelowLocked(watermark []byte) {
	l := &m.app
	for i, n := 0, l.search(watermark); i < n; i++ {
		l.remove(i)
	}
}

// appCommitLocked stamps the pending rows and deletes with epoch e and
// compacts the log once enough deleted rows are invisible to every view.
func (m *MemoryTable) appCommitLocked(e Epoch, pinned []Epoch) {
	l := &m.app
	if l.pend < l.n() {
		l.runs = append(l.runs, logRun{from: l.pend, e: e})
		l.pend = l.n()
	}
	for _, r := range l.pdel {
		l.del[r] = e
	}
	l.pdel = l.pdel[:0]
	if int64(len(l.del)-l.kept) >= max(min(logCompactMin, m.compactMin), int64(l.n()/4)) {
		horizon := e
		if len(pinned) > 0 {
			horizon = pinned[0]
		}
		m.appCompactLocked(horizon)
	}
}

// appCompactLocked drops the rows deleted at or below horizon (no view
// reads them), freeing their slots.
func (m *MemoryTable) appCompactLocked(horizon Epoch) {
	old := &m.app
	nl := appendLog{pdel: old.pdel[:0], del: map[int32]Epoch{}}
	j := 0 // run of row i
	for i := range old.n() {
		for j+1 < len(old.runs) && old.runs[j+1].from <= i {
			j++
		}
		d, isDel := old.del[int32(i)]
		if isDel && d <= horizon {
			m.freeSlot(old.slots.get(int32(i)))
			continue
		}
		r := nl.n()
		if i < old.pend {
			if e := old.runs[j].e; len(nl.runs) == 0 || nl.runs[len(nl.runs)-1].e != e {
				nl.runs = append(nl.runs, logRun{from: r, e: e})
			}
		}
		nl.addKey(old.key(i), old.slots.get(int32(i)))
		if isDel {
			nl.del[int32(r)] = d
		}
	}
	nl.pend, nl.kept = nl.n(), len(nl.del)
	*old = nl
}

// scanMerged is scan: the index entries
// (in key order) and the log rows merged, a key in both read from the
// index when it has a version visible at the epoch, else from the log.
func (m *MemoryTable) scanMerged(ctx context.Context, r KeyRange, at Epoch, fn ScanFunc) error {
	cursor := r.Start
	var keyBuf []byte
	var ends []int
	var src []int32
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		keyBuf, ends, src = keyBuf[:0], ends[:0], src[:0]
		done := true
		m.mu.RLock()
		if m.closed {
			m.mu.RUnlock()
			return ErrClosed
		}
		l := &m.app
		ord := m.order.sorted()
		i, _ := slices.BinarySearchFunc(ord, cursor, func(id int32, k []byte) int { return bytes.Compare(m.keyOf(id), k) })
		j := l.search(cursor)
		for {
			for i < len(ord) && m.ents.at(ord[i]).flags&entDead != 0 {
				i++
			}
			var ik, lk []byte
			if i < len(ord) {
				ik = m.keyOf(ord[i])
			}
			if j < l.n() {
				lk = l.key(j)
			}
			if ik == nil && lk == nil {
				break
			}
			// c < 0: the index key comes first; > 0: the log's; 0: both.
			var c int
			switch {
			case lk == nil:
				c = -1
			case ik == nil:
				c = 1
			default:
				c = bytes.Compare(ik, lk)
			}
			k := ik
			if c > 0 {
				k = lk
			}
			if r.End != nil && bytes.Compare(k, r.End) >= 0 {
				break
			}
			s := int32(-1)
			if c <= 0 {
				s = m.slotAt(ord[i], at)
				i++
			}
			if c >= 0 {
				if s < 0 && l.visible(j, at) {
					s = l.slots.get(int32(j))
				}
				j++
			}
			if s < 0 {
				continue
			}
			if len(src) == scanPiece {
				done = false
				cursor = append(slices.Clone(keyBuf[ends[len(ends)-2]:ends[len(ends)-1]]), 0)
				break
			}
			if len(ends) == 0 {
				ends = append(ends, 0)
			}
			keyBuf = append(keyBuf, k...)
			ends = append(ends, len(keyBuf))
			src = append(src, s)
		}
		var rec arrow.RecordBatch
		var err error
		if len(src) > 0 {
			rec, err = m.gatherLocked(src)
		}
		m.mu.RUnlock()
		if err != nil {
			return err
		}
		if len(src) > 0 {
			ks := make([][]byte, len(src))
			for j := range ks {
				ks[j] = keyBuf[ends[j]:ends[j+1]:ends[j+1]]
			}
			err = fn(ks, rec)
			rec.Release()
			if err != nil {
				return err
			}
		}
		if done {
			return nil
		}
	}
}
