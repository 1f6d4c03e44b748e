package stream

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/storage/state"
)

// Band cleanup of the spill tables. A bucket spilled and never loaded
// again (Nexmark's auctions once they expired) keeps its rows in the table
// however far the bounds move. So once a side's table has taken as many
// buckets since its last sweep as that sweep kept (at least
// bandSweepMin), a watermark that raises one of the side's bounds sweeps
// the table: it scans it in pieces of bandSweepPiece buckets, drops the
// rows below the bounds from each (as bandDrop does in memory), deletes
// the buckets left empty and rewrites the others that lost rows. The
// sweep's cost is linear in the table, and amortized O(1) per bucket a
// spill wrote.
//
// A bucket in memory may have a stored copy: when the bucket changed, the
// next spill overwrites the copy; when not, the copy is the bucket, and
// dropping its rows below the bound drops only rows the bound lets go.

// bandSweepPiece is how many buckets one scan of a sweep reads before it
// writes their changes.
const bandSweepPiece = 4096

// bandSweepMin is the least number of buckets a side's table takes between
// two sweeps.
const bandSweepMin = 4096

// errSweepPiece ends one scan of a sweep.
var errSweepPiece = errors.New("sweep piece full")

// bandSweepDue sweeps the spill tables of the sides whose bounds rose and
// that took enough buckets since their last sweep.
func (j *HashJoin) bandSweepDue(ctx context.Context, rose [2]bool) error {
	if !j.spilling() {
		return nil
	}
	jb := &j.bands
	for s := range rose {
		ss := &j.spill.sides[s]
		if !rose[s] || !ss.written || jb.spilled[s] < max(jb.sweepMin, jb.swept[s]) {
			continue
		}
		if err := j.spill.flushPending(ctx); err != nil {
			return err
		}
		kept, err := j.bandSweep(ctx, s)
		if err != nil {
			return err
		}
		jb.spilled[s], jb.swept[s] = 0, kept
		jb.sweeps++
	}
	return nil
}

// bandSweep drops side s's spilled rows below its bands' bounds and
// returns the buckets kept.
func (j *HashJoin) bandSweep(ctx context.Context, s int) (int, error) {
	sp := j.spill
	ss := &sp.sides[s]
	var start []byte
	kept := 0
	for {
		var keys, vals [][]byte
		err := ss.t.Scan(ctx, state.KeyRange{Start: start}, func(ks [][]byte, v arrow.RecordBatch) error {
			col := v.Column(0).(*array.Binary)
			for i, k := range ks {
				if len(keys) == bandSweepPiece {
					return errSweepPiece
				}
				keys = append(keys, slices.Clone(k))
				vals = append(vals, slices.Clone(col.Value(i)))
			}
			return nil
		})
		if err != nil && !errors.Is(err, errSweepPiece) {
			return 0, fmt.Errorf("stream: join spill sweep: %w", err)
		}
		if len(keys) == 0 {
			return kept, nil
		}
		var wk [][]byte
		var ops []state.Op
		bld := array.NewBinaryBuilder(j.mem, arrow.BinaryTypes.Binary)
		for i, k := range keys {
			nv, n, changed, err := j.sweepBucket(s, vals[i])
			if err != nil {
				bld.Release()
				return 0, err
			}
			switch {
			case n == 0:
				wk, ops = append(wk, k), append(ops, state.OpDelete)
				bld.AppendNull()
			case changed:
				wk, ops = append(wk, k), append(ops, state.OpPut)
				bld.Append(nv)
				kept++
			default:
				kept++
			}
		}
		if len(wk) > 0 {
			a := bld.NewArray()
			b := array.NewRecordBatch(JoinSpillSchema(), []arrow.Array{a}, int64(a.Len()))
			a.Release()
			err := ss.t.Write(ctx, wk, ops, b)
			b.Release()
			if err == nil {
				_, err = sp.commitPiece(ctx, ss.t, "join")
			}
			if err != nil {
				bld.Release()
				return 0, fmt.Errorf("stream: join spill sweep: %w", err)
			}
		}
		bld.Release()
		if len(keys) < bandSweepPiece {
			return kept, nil
		}
		start = append(keys[len(keys)-1], 0) // the next key after the last
	}
}

// sweepBucket drops the rows of spilled bucket value src that are below a
// bound of side s's bands; it returns the new value, the rows kept and
// whether any went.
func (j *HashJoin) sweepBucket(s int, src []byte) ([]byte, int, bool, error) {
	ss := &j.spill.sides[s]
	bad := func(what string) error {
		return pgerror.New(pgerror.DataCorrupted, "stream: join spill bucket is corrupt (%s)", what)
	}
	if len(src) < 2 || src[0] != joinSpillVersion {
		return nil, 0, false, bad("version")
	}
	head, rest := src[:2], src[2:]
	cnt, n := binary.Uvarint(rest)
	if n <= 0 || cnt == 0 || cnt > uint64(len(rest)) {
		return nil, 0, false, bad("entry count")
	}
	rest = rest[n:]
	// Each entry: its bytes in src, and its row decoded into rb.
	rb := array.NewRecordBuilder(j.mem, ss.codec.Schema())
	defer rb.Release()
	spans := make([][2]int, 0, cnt)
	for range cnt {
		from := len(src) - len(rest)
		if _, n := binary.Varint(rest); n <= 0 {
			return nil, 0, false, bad("multiplicity")
		} else {
			rest = rest[n:]
		}
		if j.cond != nil {
			if _, n := binary.Varint(rest); n <= 0 {
				return nil, 0, false, bad("matches")
			} else {
				rest = rest[n:]
			}
		}
		l, n := binary.Uvarint(rest)
		if n <= 0 || l > uint64(len(rest)-n) {
			return nil, 0, false, bad("row length")
		}
		if err := ss.codec.DecodeInto(rb, rest[n:n+int(l)]); err != nil {
			return nil, 0, false, pgerror.Wrap(err, pgerror.DataCorrupted, "stream: join spill row is corrupt")
		}
		rest = rest[n+int(l):]
		spans = append(spans, [2]int{from, len(src) - len(rest)})
	}
	if len(rest) != 0 {
		return nil, 0, false, bad("trailing bytes")
	}
	rows := rb.NewRecordBatch()
	defer rows.Release()
	jb := &j.bands
	var keep [][2]int
	for i, sp := range spans {
		below := false
		for b, bd := range jb.bands {
			if bd.Side != s || jb.bound[b] == math.MinInt64 {
				continue
			}
			if v, ok := intAt(rows.Column(bd.Col), i); ok && v < jb.bound[b] {
				below = true
				break
			}
		}
		if !below {
			keep = append(keep, sp)
		}
	}
	if len(keep) == len(spans) {
		return src, len(keep), false, nil
	}
	if len(keep) == 0 {
		return nil, 0, true, nil
	}
	out := append(append([]byte(nil), head...), binary.AppendUvarint(nil, uint64(len(keep)))...)
	for _, sp := range keep {
		out = append(out, src[sp[0]:sp[1]]...)
	}
	return out, len(keep), true, nil
}
