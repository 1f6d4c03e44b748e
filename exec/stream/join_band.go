package stream

import (
	"context"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/sql/types"
)

// Interval joins: state cleanup by band conditions.
//
// A JoinBand records that the join condition implies
//
//	other.OCol <= row.Col + Off
//
// for every joined pair of a row of side Side and a row of the other side
// (as `b.ts <= a.ts + INTERVAL '1 minute'` or one half of `b.ts BETWEEN
// a.ts - … AND a.ts + …` does). Let Wo be the other side's latest
// watermark on OCol and Ws this side's on Col. A stored row with
// row.Col < min(Ws, Wo - Off)
//
//   - joins no later row of the other side: those have OCol >= Wo >
//     row.Col + Off;
//   - is never retracted: it is below its own input's watermark, and no
//     later row (deletes included) of that input is;
//   - is not needed to retract a later row of the other side's earlier
//     pairs: a retracted row of the other side is at or above Wo, so it
//     never joined this row.
//
// So the row is dropped; when Side is append-only, the second point holds
// without Ws, and rows are dropped below Wo - Off alone. Outer joins too: a preserved row's NULL-extended
// output was emitted when it had no match and can no longer change, and
// the match counts of the rows that stay still count only rows that can
// be retracted. NULLs in Col never satisfy the condition but are never
// below a watermark either, so they stay.
//
// The same bound holds for the output: every later output row (insert or
// delete, NULL-extended ones included) that carries a row of Side carries
// one with Col at or above it — the row is new (Col >= Ws) or pairs with a
// new row of the other side (Col >= OCol - Off >= Wo - Off). So the join
// forwards the bound as a watermark on that output column, and aggregates
// and EMIT ON WINDOW CLOSE downstream close on the joined stream's time.
// (An inner join's condition is a filter after the join: pairs outside the
// band pass the join below the bound and the filter drops them.)
//
// Each band keeps a min-heap of its side's rows by Col (rows arrive nearly
// in order, so a push is cheap); when its bound rises, the rows below it
// are popped and dropped: O(log n) per row, no scans. An entry is named in
// the heap with its generation, so a heap item of an entry since freed, or
// reused for another row, is recognized and skipped. Rows of buckets in
// the spill tables are dropped when a chunk loads them back (they enter
// the heaps then), or by a sweep of the table (join_band_sweep.go).
type JoinBand struct {
	Side int   // the side whose rows are dropped
	Col  int   // its column
	OCol int   // the other side's column
	Off  int64 // in the columns' units (microseconds, days or integers)
	// AppendOnly says side Side never retracts a row: its rows are
	// dropped below Wo - Off, with or without a watermark of their own (as
	// auctions by `b.ts <= a.expires` with watermarks on bids only).
	AppendOnly bool
}

// joinBands is a HashJoin's band state.
type joinBands struct {
	bands []JoinBand
	wm    [2]map[int]int64 // per side: column → latest watermark
	bound []int64          // per band: rows of its side below it are dropped
	fwd   map[int]int64    // per output column: the watermark last forwarded
	heaps [][]bandItem     // per band: its side's rows, a min-heap by v

	// Spill table sweeps (join_band_sweep.go): per side, the buckets
	// spilled since its last sweep and those that sweep kept.
	spilled, swept [2]int
	sweeps         int
	sweepMin       int // bandSweepMin (tests lower it)
}

// bandItem is a row in a band's heap: entry e of bucket b, of generation
// gen, with the band's column at v.
type bandItem struct {
	v    int64
	gen  uint64
	e, b int32
}

// bandItemBytes is the size of a bandItem.
const bandItemBytes = 24

// WithBands makes the join clean its state by band conditions (see
// JoinBand). Columns must be of an integer-like type (integers, dates,
// timestamps); the planner only passes such.
func (j *HashJoin) WithBands(bands []JoinBand) *HashJoin {
	if len(bands) == 0 {
		return j
	}
	jb := &j.bands
	jb.bands = bands
	jb.wm = [2]map[int]int64{{}, {}}
	jb.bound = make([]int64, len(bands))
	jb.fwd = map[int]int64{}
	jb.heaps = make([][]bandItem, len(bands))
	jb.sweepMin = bandSweepMin
	for i, b := range bands {
		jb.bound[i] = math.MinInt64
		j.sides[b.Side].track = true
	}
	return j
}

// bandTrack moves the entries side s created since the last call into its
// bands' heaps.
func (j *HashJoin) bandTrack(s int) {
	sd := j.sides[s]
	if !sd.track {
		return
	}
	jb := &j.bands
	for _, ne := range sd.newEnts {
		en := sd.ent(ne.e)
		if en.n == 0 || sd.gens[ne.e] != ne.gen {
			continue
		}
		seg := sd.segs[en.ref.seg]
		for i, b := range jb.bands {
			if b.Side != s {
				continue
			}
			if v, ok := intAt(seg.Column(b.Col), int(en.ref.row)); ok {
				jb.heaps[i] = heapPush(jb.heaps[i], bandItem{v: v, gen: ne.gen, e: ne.e, b: ne.b})
			}
		}
	}
	sd.newEnts = sd.newEnts[:0]
}

// bandWatermark records watermark w of side s, raises the bounds it moves
// and drops the rows below them.
func (j *HashJoin) bandWatermark(ctx context.Context, s int, w Watermark) error {
	jb := &j.bands
	if jb.bands == nil {
		return nil
	}
	v, ok := bandInt(w.Value)
	if !ok {
		return nil
	}
	if prev, ok := jb.wm[s][w.Col]; ok && v <= prev {
		return nil
	}
	jb.wm[s][w.Col] = v
	var dropped, rose [2]bool
	for i, b := range jb.bands {
		wo, ok := jb.wm[1-b.Side][b.OCol]
		if !ok {
			continue
		}
		lim := satSub(wo, b.Off)
		ws, hasWs := jb.wm[b.Side][b.Col]
		if hasWs && !slices.Contains(j.keys[b.Side], b.Col) {
			// Forwarded unless a key column (join_watermark.go forwards
			// those), and only when higher than the column's last: two
			// bands may bound one column.
			col := b.Col
			if b.Side == 1 {
				col += j.width[0]
			}
			v := min(ws, lim)
			if last, ok := jb.fwd[col]; !ok || v > last {
				if d, ok := bandDatum(v, j.types[b.Side][b.Col]); ok {
					jb.fwd[col] = v
					j.pending = append(j.pending, Watermark{Col: col, Value: d})
				}
			}
		}
		if !b.AppendOnly {
			if !hasWs {
				continue
			}
			lim = min(ws, lim)
		}
		if lim > jb.bound[i] {
			jb.bound[i] = lim
			rose[b.Side] = true
			d, err := j.bandDrop(i)
			if err != nil {
				return err
			}
			dropped[b.Side] = dropped[b.Side] || d
		}
	}
	for s, d := range dropped {
		if !d {
			continue
		}
		sd := j.sides[s]
		sd.sweepDead()
		if sd.live == 0 && sd.nEntries > 0 {
			sd.release()
		} else if err := sd.maybeCompact(j.mem); err != nil {
			return err
		}
	}
	if j.spilling() {
		if err := j.spill.flushPending(ctx); err != nil {
			return err
		}
	}
	if err := j.bandSweepDue(ctx, rose); err != nil {
		return err
	}
	return j.charge.set(j.StateBytes())
}

// bandDrop pops band i's heap below its bound and drops those rows that
// are still live; it reports whether it dropped any.
func (j *HashJoin) bandDrop(i int) (bool, error) {
	jb := &j.bands
	s := jb.bands[i].Side
	sd := j.sides[s]
	h := jb.heaps[i]
	dropped := false
	for len(h) > 0 && h[0].v < jb.bound[i] {
		it := h[0]
		h = heapPop(h)
		if int(it.e) >= sd.nEntries || sd.gens[it.e] != it.gen || sd.ent(it.e).n == 0 {
			continue
		}
		bk := &sd.buckets[it.b]
		en := sd.ent(it.e)
		ref := en.ref
		bk.total -= en.n
		if en.n < 0 {
			bk.neg--
		}
		sd.unlink(bk, it.e)
		sd.freeEntry(it.e)
		bk.dirty = true
		dropped = true
		if bk.count == 0 {
			// ref still names a row of the bucket's key: its segment is
			// released only by the sweep that follows.
			bk.head, bk.tail, bk.neg, bk.total, bk.index = -1, -1, 0, 0, nil
			if err := j.dropBucket(s, bk.id, it.b, sd.segs[ref.seg], int(ref.row)); err != nil {
				jb.heaps[i] = h
				return dropped, err
			}
		}
	}
	if cap(h) > 2*len(h)+4096 {
		h = append([]bandItem(nil), h...) // give back a past peak
	}
	jb.heaps[i] = h
	return dropped, nil
}

// bytes is the memory of the band heaps.
func (jb *joinBands) bytes() int64 {
	var n int64
	for _, h := range jb.heaps {
		n += int64(cap(h)) * bandItemBytes
	}
	return n
}

// heapPush adds it to min-heap h.
func heapPush(h []bandItem, it bandItem) []bandItem {
	h = append(h, it)
	for k := len(h) - 1; k > 0; {
		p := (k - 1) / 2
		if h[p].v <= h[k].v {
			break
		}
		h[p], h[k] = h[k], h[p]
		k = p
	}
	return h
}

// heapPop removes the minimum of h.
func heapPop(h []bandItem) []bandItem {
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	for k := 0; ; {
		c := 2*k + 1
		if c >= n {
			break
		}
		if c+1 < n && h[c+1].v < h[c].v {
			c++
		}
		if h[k].v <= h[c].v {
			break
		}
		h[k], h[c] = h[c], h[k]
		k = c
	}
	return h
}

// bandInt is a watermark value of an integer-like type as an int64.
func bandInt(v types.Datum) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case int16:
		return int64(x), true
	case types.Date:
		return int64(x), true
	case types.Timestamp:
		return int64(x), true
	case types.TimestampTZ:
		return int64(x), true
	}
	return 0, false
}

// intAt is row r of an integer-like column as an int64 (false: NULL or
// another type).
func intAt(a arrow.Array, r int) (int64, bool) {
	if a.IsNull(r) {
		return 0, false
	}
	switch x := a.(type) {
	case *array.Int64:
		return x.Value(r), true
	case *array.Int32:
		return int64(x.Value(r)), true
	case *array.Int16:
		return int64(x.Value(r)), true
	case *array.Date32:
		return int64(x.Value(r)), true
	case *array.Timestamp:
		return int64(x.Value(r)), true
	}
	return 0, false
}

// bandDatum is v as a Datum of type t.
func bandDatum(v int64, t types.T) (types.Datum, bool) {
	switch t.Family {
	case types.FamInt2, types.FamInt4, types.FamInt8:
		return v, true
	case types.FamDate:
		if v < math.MinInt32 || v > math.MaxInt32 {
			return nil, false
		}
		return types.Date(v), true
	case types.FamTimestamp:
		return types.Timestamp(v), true
	case types.FamTimestampTZ:
		return types.TimestampTZ(v), true
	}
	return nil, false
}

// satSub is a - b, saturating at the int64 range.
func satSub(a, b int64) int64 {
	d := a - b
	if (b > 0 && d > a) || (b < 0 && d < a) {
		if b > 0 {
			return math.MinInt64
		}
		return math.MaxInt64
	}
	return d
}
