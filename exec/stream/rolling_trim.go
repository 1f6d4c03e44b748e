package stream

import (
	"context"
	"math"
	"math/bits"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Bounded history (every call has a ROWS frame of at most L preceding rows
// and none includes peers).
//
// An out-of-order row r of a fast partition changes the window values of
// r itself and of the L rows after its place only (a later row's frame
// holds none of the rows r displaced). So instead of moving the partition
// to the fallback OverWindow, which would need every row it ever had, the
// operator replays the partition locally: it retracts those L rows (their
// emitted window values are kept beside the retained rows), resets the
// partition's state and refolds it from the L rows before r's place to
// the partition's last row, and emits r and the L rows as inserts.
//
// That needs, per partition, the rows from L before any place a future row
// can take. A watermark on the ORDER BY column bounds it: rows below the
// watermark no longer arrive (the watermark filter drops them as late), so
// at each barrier after a watermark rose, every partition that received
// rows keeps only its rows at or above the watermark (and NULL-ordered
// ones) plus the L rows before them. Retained rows are copied into compact
// batches once fewer than half of the retained history is live, so the
// memory held is proportional to the rows kept, not to the rows seen.
// Without a watermark the history stays whole, as before.

// trimCompactMin is the history length below which compaction is not
// worth a pass.
const trimCompactMin = 1 << 14

// rollWMTap observes the watermarks of the rolling window's input on its
// order column on their way through.
type rollWMTap struct {
	Executor
	w *RollingWindow
}

func (t *rollWMTap) Next(ctx context.Context) (Message, error) {
	m, err := t.Executor.Next(ctx)
	if wm, ok := m.(Watermark); ok && err == nil && wm.Col == t.w.orderCol {
		if k, ok := wmOrderKey(wm.Value); ok && (!t.w.hasWM || k > t.w.wmKey) {
			t.w.wmKey, t.w.hasWM = k, true
		}
	}
	return m, err
}

// wmOrderKey maps a watermark value to the order key orderKeys gives it.
func wmOrderKey(d types.Datum) (int64, bool) {
	switch v := d.(type) {
	case int64:
		return v, true
	case int32:
		return int64(v), true
	case int16:
		return int64(v), true
	case types.Date:
		return int64(v), true
	case types.Timestamp:
		return int64(v), true
	case types.TimestampTZ:
		return int64(v), true
	case float64:
		return floatOrderKey(v), true
	}
	return 0, false
}

// floatOrderKey is orderKeys' int64 key of a float8.
func floatOrderKey(v float64) int64 {
	if v != v {
		v = math.NaN()
	}
	if v == 0 {
		v = 0
	}
	u := int64(math.Float64bits(v))
	if u < 0 {
		u ^= math.MaxInt64
	}
	return u
}

// valsAt is the stored window values of history entry r.
func (w *RollingWindow) valsAt(r int64) []float64 {
	nc := int64(len(w.calls))
	s := w.hvals[r/histSlab]
	off := (r % histSlab) * nc
	return s[off : off+nc]
}

// growVals makes room for the values of history entries up to w.nHist.
func (w *RollingWindow) growVals() {
	nc := len(w.calls)
	for int64(len(w.hvals))*histSlab < w.nHist {
		if k := len(w.freeVals); k > 0 {
			w.hvals = append(w.hvals, w.freeVals[k-1])
			w.freeVals = w.freeVals[:k-1]
			continue
		}
		w.hvals = append(w.hvals, make([]float64, histSlab*nc))
	}
}

// storeVals records the window values out (an output batch) holds for
// history entries hidx (one per row of out).
func (w *RollingWindow) storeVals(out arrow.RecordBatch, from int, hidx []int64) {
	w.growVals()
	nIn, nc := len(w.inTypes), len(w.calls)
	for c := range w.calls {
		switch a := out.Column(nIn + c).(type) {
		case *array.Float64:
			vs := a.Float64Values()[from : from+len(hidx)]
			nulls := a.NullN() > 0
			for j, r := range hidx {
				v := vs[j]
				if nulls && a.IsNull(from+j) {
					v = math.Float64frombits(rollNull)
				}
				w.hvals[r/histSlab][(r%histSlab)*int64(nc)+int64(c)] = v
			}
		case *array.Int64:
			for j, r := range hidx {
				w.valsAt(r)[c] = float64(a.Value(from + j))
			}
		}
	}
}

// markDirty notes that partition p received rows since the last trim,
// one replayed in place among them.
func (w *RollingWindow) markDirty(p uint32) {
	ps := w.ps.ref(p)
	ps.reordered = true
	if !ps.dirty {
		ps.dirty = true
		w.dirty = append(w.dirty, p)
	}
}

// firstSinceTrim notes that partition p (ps) receives its first row since
// the last trim, in order, with order value (k, kn), before it is
// appended.
func (w *RollingWindow) firstSinceTrim(ps *rollPart, p uint32, k int64, kn bool) {
	ps.dirty, ps.reordered = true, false
	// The list is in order and its tail is the last row taken in order
	// (a row replayed in place sorts before it): its key is lastKey.
	ps.trimTail, ps.trimKept, ps.trimKey, ps.trimNull = int32(ps.histTail), int32(ps.kept), k, kn
	ps.trimTailKey, ps.trimTailNull = ps.lastKey, ps.lastNull
	w.dirty = append(w.dirty, p)
}

// partRows lists partition p's retained history entries, oldest first.
func (w *RollingWindow) partRows(p uint32, out []int64) []int64 {
	out = out[:0]
	ps := w.ps.ref(p)
	for r, k := ps.histTail, ps.kept; k > 0; r, k = int64(w.histAt(r).prev), k-1 {
		out = append(out, r)
	}
	slices.Reverse(out)
	return out
}

// rowsBatch builds a batch of the input rows of history entries refs.
func (w *RollingWindow) rowsBatch(refs []int64, extra arrow.RecordBatch, extraRow, extraAt int) arrow.RecordBatch {
	in := w.input.Schema()
	bs := newBuilders(w.mem, in)
	add := func(src arrow.RecordBatch, row int) {
		for c, bld := range bs {
			types.AppendDatum(bld, types.GetDatum(src.Column(c), row, w.inTypes[c]), w.inTypes[c])
		}
	}
	n := len(refs)
	for j, r := range refs {
		if j == extraAt && extra != nil {
			add(extra, extraRow)
		}
		h := w.histAt(r)
		add(w.batches[h.batch], h.rowIdx())
	}
	if extra != nil && extraAt >= len(refs) {
		add(extra, extraRow)
	}
	if extra != nil {
		n++
	}
	return finishBuilders(in, bs, int64(n))
}

// storedRows builds the output rows last emitted for history entries refs
// (input columns and stored window values).
func (w *RollingWindow) storedRows(refs []int64) arrow.RecordBatch {
	bs := newBuilders(w.mem, w.schema)
	nIn := len(w.inTypes)
	for _, r := range refs {
		h := w.histAt(r)
		src := w.batches[h.batch]
		for c := 0; c < nIn; c++ {
			types.AppendDatum(bs[c], types.GetDatum(src.Column(c), h.rowIdx(), w.inTypes[c]), w.inTypes[c])
		}
		for c, v := range w.valsAt(r) {
			switch b := bs[nIn+c].(type) {
			case *array.Float64Builder:
				if ringNull(v) {
					b.AppendNull()
				} else {
					b.Append(v)
				}
			case *array.Int64Builder:
				b.Append(int64(v))
			}
		}
	}
	return finishBuilders(w.schema, bs, int64(len(refs)))
}

// reorder places row i of b, ordered before the last row of its fast
// partition p, by a local replay (see the comment at the top of the file).
func (w *RollingWindow) reorder(b arrow.RecordBatch, bi uint32, i int, p uint32) error {
	ps := w.ps.ref(p)
	refs := w.partRows(p, w.refs)
	w.refs = refs
	n := len(refs)
	k, kn := w.keys[i], w.knul[i]
	// r goes after every row ordered at or before it (ties by arrival).
	at := n
	for j, r := range refs {
		h := w.histRef(r)
		if rollBefore(k, kn, h.key, h.keyNull()) {
			at = j
			break
		}
	}
	first := ps.seen - uint64(n) // position of refs[0]
	lo := max(at-w.lookback, 0)
	if lo == 0 && at < w.lookback && first > 0 {
		return pgerror.Internal("stream: rolling window row ordered before the rows kept for its frame (below the watermark)")
	}
	hi := min(at+w.lookback, n)
	// Retract the rows whose frames now hold r, as last emitted.
	if hi > at {
		old := w.storedRows(refs[at:hi])
		ops := make([]Op, hi-at)
		for j := range ops {
			ops[j] = Delete
		}
		w.q.push(&Chunk{Batch: old, Ops: ops})
	}
	// Refold from the frame before r to the last row, with r in place.
	seqRows := w.rowsBatch(refs[lo:], b, i, at-lo)
	defer seqRows.Release()
	m := int(seqRows.NumRows())
	rows, pids, seqs := make([]int32, m), make([]uint32, m), make([]uint64, m)
	for j := range rows {
		rows[j], pids[j], seqs[j] = int32(j), p, first+uint64(lo+j)
	}
	for _, rc := range w.calls {
		rc.reset(p)
		rc.clearRing(p)
	}
	out, err := w.compute(seqRows, rows, pids, seqs, true)
	if err != nil {
		return err
	}
	// Link r into the history between refs[at-1] and refs[at].
	prev := int64(-1)
	if at > 0 {
		prev = refs[at-1]
	}
	he := histEntry{batch: bi, row: uint32(i), prev: int32(prev), key: k}
	if kn {
		he.row |= histNullBit
		he.key = 0
	}
	e := w.addHist(he)
	w.live++
	ps.kept++
	if at < n {
		w.histRef(refs[at]).prev = int32(e)
	} else {
		ps.histTail = e
	}
	ps.seen++
	// Emit r and the rows after it whose frames hold it; remember their
	// new values.
	from := at - lo
	cnt := 1 + hi - at
	changed := append([]int64{e}, refs[at:hi]...)
	w.storeVals(out, from, changed)
	emit := out.NewSlice(int64(from), int64(from+cnt))
	out.Release()
	w.q.push(&Chunk{Batch: emit, Ops: make([]Op, cnt)})
	w.markDirty(p)
	return nil
}

// clearRing marks partition p's ring slots NULL, so a refold starting at a
// later position finds no stale values to subtract.
func (rc *rollCall) clearRing(p uint32) {
	if rc.ring.per == 0 {
		return
	}
	ring := rc.ring.at(p)
	for j := range ring {
		ring[j] = math.Float64frombits(rollNull)
	}
}

// trim drops, in every partition that received rows since the last trim,
// the history below the watermark except the lookback rows before it, then
// compacts the history when most of it is dead.
func (w *RollingWindow) trim() {
	if !w.trimmable || !w.hasWM || w.hasTrimmed && w.wmKey <= w.trimmedAt {
		return // rows since the last trim are at or above its watermark
	}
	wm := w.wmKey
	// Per partition: count the rows at or above the watermark (the list
	// is in order, NULLs last: they are its tail); the partition keeps
	// them and the lookback rows before them, and drops the rest from its
	// head by lowering its kept count (its list is walked from the tail
	// for kept entries: the dropped ones are no longer reached, and
	// compaction removes them). Only the kept tail is visited. The walks
	// chase links through history that is mostly out of cache, so
	// trimLanes partitions are walked at once, a step of each in turn,
	// for their memory accesses to overlap. A partition whose rows since
	// the last trim all came in order, the first at or above the
	// watermark, has all of them above it: its walk starts at the row
	// before them, and there is none to take when that row is below the
	// watermark (the list is in order).
	jobs := w.trimJobs[:0]
	for _, p := range w.dirty {
		ps := w.ps.ref(p)
		ps.dirty = false
		if ps.fellBack || ps.kept <= int64(w.lookback) {
			continue
		}
		j := trimJob{p: p, r: ps.histTail, left: ps.kept}
		if !ps.reordered && (ps.trimNull || ps.trimKey >= wm) {
			j = trimJob{p: p, r: int64(ps.trimTail), n: ps.kept - int64(ps.trimKept), left: int64(ps.trimKept)}
			if !ps.trimTailNull && ps.trimTailKey < wm {
				j.left = 0
			}
		}
		if j.left == 0 {
			w.dropBelow(j)
			continue
		}
		jobs = append(jobs, j)
	}
	w.countAbove(jobs, wm)
	w.trimJobs = jobs[:0]
	w.dirty = w.dirty[:0]
	w.trimmedAt, w.hasTrimmed = wm, true
	if w.nHist >= trimCompactMin && w.live*2 < w.nHist {
		w.compact()
	}
}

// trimLanes is how many partitions' history walks interleave.
const trimLanes = 8

// trimJob is one partition's walk in trim: from entry r, n entries
// counted so far, left entries of the partition not yet visited.
type trimJob struct {
	p       uint32
	r       int64
	n, left int64
}

// countAbove walks each job's partition from its tail (job.r) over the
// rows at or above wm and drops the partition's rows before them but the
// lookback ones.
func (w *RollingWindow) countAbove(jobs []trimJob, wm int64) {
	var lane [trimLanes]trimJob
	active, next := 0, 0
	finish := w.dropBelow
	for active < trimLanes && next < len(jobs) {
		lane[active] = jobs[next]
		active, next = active+1, next+1
	}
	for active > 0 {
		for k := 0; k < active; k++ {
			j := &lane[k]
			h := &w.hist[j.r/histSlab][j.r%histSlab]
			if h.row&histNullBit == 0 && h.key < wm {
				j.r = -1
			} else {
				j.n++
				j.r = int64(h.prev)
				if j.left--; j.left == 0 {
					j.r = -1 // the head: its prev may be a dropped entry
				}
			}
			if j.r >= 0 {
				continue
			}
			finish(*j)
			if next < len(jobs) {
				*j = jobs[next]
				next++
			} else {
				active--
				lane[k] = lane[active]
				k--
			}
		}
	}
}

// dropBelow drops the rows of job j's partition before its j.n rows at or
// above the watermark, but the lookback ones.
func (w *RollingWindow) dropBelow(j trimJob) {
	ps := w.ps.ref(j.p)
	if drop := ps.kept - j.n - int64(w.lookback); drop > 0 {
		ps.kept -= drop
		w.live -= drop
	}
}

// markLive sets bit r of live (clear) for every kept history entry r,
// walking each partition's list from its tail, trimLanes partitions at
// once. (A bitmap: the walk's writes stay in cache.)
func (w *RollingWindow) markLive(live []uint64) {
	var lane [trimLanes]trimJob
	active := 0
	p, np := uint32(0), uint32(w.ps.n)
	// refill puts the next partition with kept rows in lane k.
	refill := func(k int) bool {
		for ; p < np; p++ {
			if ps := w.ps.ref(p); ps.kept > 0 {
				lane[k] = trimJob{p: p, r: ps.histTail, left: ps.kept}
				p++
				return true
			}
		}
		return false
	}
	for active < trimLanes && refill(active) {
		active++
	}
	for active > 0 {
		for k := 0; k < active; k++ {
			j := &lane[k]
			live[j.r>>6] |= 1 << (j.r & 63)
			j.r = int64(w.hist[j.r/histSlab][j.r%histSlab].prev)
			if j.left--; j.left > 0 {
				continue
			}
			if !refill(k) {
				active--
				lane[k] = lane[active]
				k--
			}
		}
	}
}

// compact drops the history entries no partition keeps any more in
// place, keeping the live ones in arrival order, and the retained batches
// that are mostly dead: a batch whose live rows are at least half of it
// is kept as it is (the rows just trimmed are usually whole old batches,
// the recent ones fully live), the live rows of a sparser one are copied
// into a fresh batch.
func (w *RollingWindow) compact() {
	nc := int64(len(w.calls))
	nOld := w.nHist
	live := growTo(w.liveBits, int((nOld+63)/64))
	w.liveBits = live
	clear(live)
	w.markLive(live)
	// An entry's new index is the number of live entries before it: per
	// word of the bitmap the count before the word, plus the bits below
	// it in the word.
	rank := growTo(w.liveRank, len(live))
	w.liveRank = rank
	c := int32(0)
	for i, b := range live {
		rank[i] = c
		c += int32(bits.OnesCount64(b))
	}
	remap := func(r int32) int32 {
		b := live[r>>6]
		if b&(1<<(r&63)) == 0 {
			return -1
		}
		return rank[r>>6] + int32(bits.OnesCount64(b&(1<<(r&63)-1)))
	}
	// One sequential pass: entry r moves down to j (j <= r), its values
	// with it.
	j := int64(0)
	for r := int64(0); r < nOld; r++ {
		if live[r>>6]&(1<<(r&63)) == 0 {
			continue
		}
		if j != r {
			w.hist[j/histSlab][j%histSlab] = w.hist[r/histSlab][r%histSlab]
			copy(w.hvals[j/histSlab][(j%histSlab)*nc:(j%histSlab+1)*nc], w.hvals[r/histSlab][(r%histSlab)*nc:(r%histSlab+1)*nc])
		}
		j++
	}
	n := j
	// Slabs past the live entries go back to the pools.
	keep := int((n + histSlab - 1) / histSlab)
	for _, hs := range w.hist[keep:] {
		if len(w.freeHist) < histPoolMax {
			w.freeHist = append(w.freeHist, hs[:0])
		}
	}
	clear(w.hist[keep:])
	w.hist = w.hist[:keep]
	if keep > 0 {
		w.hist[keep-1] = w.hist[keep-1][:(n-1)%histSlab+1]
	}
	if len(w.hvals) > keep {
		pool := max(0, min(len(w.hvals)-keep, histPoolMax-len(w.freeVals)))
		w.freeVals = append(w.freeVals, w.hvals[keep:keep+pool]...)
		clear(w.hvals[keep:])
		w.hvals = w.hvals[:keep]
	}
	w.nHist, w.live = n, n
	// Links and partition tails, renumbered (a head's link to a dropped
	// entry becomes -1).
	for _, hs := range w.hist {
		for k := range hs {
			if e := &hs[k]; e.prev >= 0 {
				e.prev = remap(e.prev)
			}
		}
	}
	for p := range w.ps.n {
		if ps := w.ps.ref(uint32(p)); ps.histTail >= 0 {
			ps.histTail = int64(remap(int32(ps.histTail)))
		}
	}
	w.compactBatches()
}

// compactBatches renumbers the retained batches after compact: each old
// batch's live rows (a counting sort of the entries by batch) are kept in
// place when they are at least half of the batch and copied out
// otherwise; batches without live rows are released.
func (w *RollingWindow) compactBatches() {
	n := w.nHist
	at := func(j int32) *histEntry { return &w.hist[j/histSlab][j%histSlab] }
	first := growTo(w.cnt, len(w.batches)+1)
	w.cnt = first
	clear(first)
	for _, hs := range w.hist {
		for k := range hs {
			first[hs[k].batch+1]++
		}
	}
	for b := 1; b < len(first); b++ {
		first[b] += first[b-1]
	}
	byBatch := growTo(w.byBatch, int(n)) // entries, batch by batch, ascending
	w.byBatch = byBatch
	next := append(w.next[:0], first[:len(w.batches)]...)
	w.next = next
	for j := range int32(n) {
		b := at(j).batch
		byBatch[next[b]] = j
		next[b]++
	}
	batches := w.batches[:0:0]
	var held int64
	idx := w.rows[:0]
	for b, old := range w.batches {
		js := byBatch[first[b]:first[b+1]]
		if len(js) == 0 {
			old.Release()
			continue
		}
		nb := old
		if int64(len(js))*2 < old.NumRows() {
			idx = idx[:0]
			for _, j := range js {
				idx = append(idx, int32(at(j).rowIdx()))
			}
			nb = vec.TakeBatch(w.mem, old, idx)
			old.Release()
			for row, j := range js {
				e := at(j)
				e.row = uint32(row) | e.row&histNullBit
			}
		}
		for _, j := range js {
			at(j).batch = uint32(len(batches))
		}
		held += batchBytes(nb)
		batches = append(batches, nb)
	}
	w.rows = idx[:0]
	clear(w.batches)
	w.batches, w.heldBytes = batches, held
}
