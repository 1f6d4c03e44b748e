package stream

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Watermarks in a HashJoin.
//
// A watermark says that no later row of its input has the column below the
// value, deletes included (WatermarkFilter drops late ones). Let W_i be the
// smaller of the two inputs' latest watermarks on their key columns of
// position i. No later row of either input has key column i below W_i, so
//
//   - no entry of either side whose key column i is below W_i will be
//     probed or retracted again: those buckets are dropped — in memory, and
//     from the spill tables by range when i is the first key and the spill
//     keys are memcomparable. Preserved sides of outer joins too: their
//     NULL-extended rows were emitted and can no longer change;
//   - every later output row carries key column i at or above W_i in both
//     of its copies (it comes from a later input row with that key; NULL
//     keys are never late), so W_i is forwarded on both output columns.
//
// Watermarks on other columns are not forwarded: a later row of one side
// joins earlier rows of the other, whose values may lie below any bound.
// (The planner lists the output key columns as carrying watermarks and puts
// such a key first, so a spilling join can clean its tables by range.)

// joinWatermarks is a HashJoin's watermark state.
type joinWatermarks struct {
	in  [2][]types.Datum // per side and key position: the latest watermark
	out []types.Datum    // per key position: the last W_i forwarded
}

// watermark takes a watermark of side s, cleans the state below any W_i it
// raises and queues the forwarded watermarks in j.pending.
func (j *HashJoin) watermark(ctx context.Context, s int, w Watermark) error {
	if w.Value == nil {
		return nil
	}
	if err := j.bandWatermark(ctx, s, w); err != nil {
		return err
	}
	wm := &j.wms
	if wm.out == nil {
		n := len(j.keys[0])
		wm.in = [2][]types.Datum{make([]types.Datum, n), make([]types.Datum, n)}
		wm.out = make([]types.Datum, n)
	}
	for i, k := range j.keys[s] {
		if k != w.Col {
			continue
		}
		t := j.types[s][k]
		if prev := wm.in[s][i]; prev == nil || types.Compare(w.Value, prev, t) > 0 {
			wm.in[s][i] = w.Value
		}
		a, b := wm.in[0][i], wm.in[1][i]
		if a == nil || b == nil {
			continue
		}
		lo := a
		if types.Compare(b, a, t) < 0 {
			lo = b
		}
		if prev := wm.out[i]; prev != nil && types.Compare(lo, prev, t) <= 0 {
			continue
		}
		wm.out[i] = lo
		if err := j.cleanBelow(ctx, i, lo); err != nil {
			return err
		}
		j.pending = append(j.pending, Watermark{Col: j.keys[0][i], Value: lo},
			Watermark{Col: j.width[0] + j.keys[1][i], Value: lo})
	}
	return nil
}

// cleanBelow drops the state of both sides whose key column i is below v.
func (j *HashJoin) cleanBelow(ctx context.Context, i int, v types.Datum) error {
	for s, sd := range j.sides {
		if err := j.cleanSide(s, sd, i, v); err != nil {
			return err
		}
	}
	if err := j.cleanSpilledBelow(ctx, i, v); err != nil {
		return err
	}
	return j.charge.set(j.StateBytes())
}

// cleanSide drops the buckets of side s whose key column i is below v.
func (j *HashJoin) cleanSide(s int, sd *joinSide, i int, v types.Datum) error {
	if sd.live == 0 {
		return nil
	}
	col := sd.keys[i]
	t := sd.ts[col]
	bound := vec.ConstArray(j.mem, v, t, 1)
	defer bound.Release()
	for b := range int32(len(sd.buckets)) {
		bk := &sd.buckets[b]
		if bk.count == 0 {
			continue
		}
		ref := sd.ent(bk.head).ref
		seg := sd.segs[ref.seg]
		a, r := seg.Column(col), int(ref.row)
		if !a.IsValid(r) || vec.CompareValues(t, a, r, bound, 0) >= 0 {
			continue
		}
		if err := j.dropWholeBucket(s, b, seg, r); err != nil {
			return err
		}
	}
	sd.sweepDead()
	if sd.live == 0 && sd.nEntries > 0 {
		sd.release()
		return nil
	}
	return sd.maybeCompact(j.mem)
}

// dropWholeBucket frees every entry of bucket b of side s and drops it
// (queueing its spill copy's deletion); seg and r name its first row.
func (j *HashJoin) dropWholeBucket(s int, b int32, seg arrow.RecordBatch, r int) error {
	sd := j.sides[s]
	bk := &sd.buckets[b]
	for e := bk.head; e >= 0; {
		next := sd.ent(e).next
		sd.freeEntry(e)
		e = next
	}
	if bk.index != nil {
		sd.indexed -= int64(bk.count)
	}
	id := bk.id
	bk.head, bk.tail, bk.count, bk.neg, bk.total, bk.index = -1, -1, 0, 0, 0, nil
	return j.dropBucket(s, id, b, seg, r)
}

// cleanSpilledBelow drops the spilled buckets whose first key column is
// below v (key position i must be the first; others stay, see the gap
// noted in join_spill.go).
func (j *HashJoin) cleanSpilledBelow(ctx context.Context, i int, v types.Datum) error {
	sp := j.spill
	if i != 0 || sp == nil || !sp.active || sp.closed {
		return nil
	}
	for s := range sp.sides {
		ss := &sp.sides[s]
		if ss.enc == nil || !ss.written {
			continue
		}
		t := j.sides[s].enc.Types[0]
		enc, err := viewKeyEncoder([]types.T{t})
		if err != nil {
			return fmt.Errorf("stream: join spill watermark: %w", err)
		}
		bound := vec.ConstArray(j.mem, v, t, 1)
		k, err := enc.AppendRow(nil, []arrow.Array{bound}, 0)
		bound.Release()
		if err != nil {
			return fmt.Errorf("stream: join spill watermark: %w", err)
		}
		if err := ss.t.CleanBelow(ctx, k); err != nil {
			return fmt.Errorf("stream: join spill cleanup: %w", err)
		}
	}
	return nil
}

// sweepDead releases the segments that hold no live entry.
func (sd *joinSide) sweepDead() {
	for _, s := range sd.dead {
		if sd.segs[s] != nil && sd.segLive[s] == 0 {
			sd.segRows -= int(sd.segs[s].NumRows())
			sd.segBytes -= sd.segSize[s]
			sd.segSize[s] = 0
			sd.segs[s].Release()
			sd.segs[s] = nil
			sd.freeSegs = append(sd.freeSegs, s)
		}
	}
	sd.dead = sd.dead[:0]
}
