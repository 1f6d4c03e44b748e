package exec

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/apd/v3"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// refFrame computes frame [fs, fe) of sorted position k by the SQL
// definitions, over rows sorted by (p, o) with partition bounds ps..pe.
func refFrame(mode planner.FrameMode, start, end planner.FrameBound, offS, offE int64, o []types.Datum, ps, pe, k int) (int, int) {
	peer := func(a, b int) bool { return fmt.Sprint(o[a]) == fmt.Sprint(o[b]) }
	gstart, gend := k, k+1
	for gstart > ps && peer(gstart-1, k) {
		gstart--
	}
	for gend < pe && peer(gend, k) {
		gend++
	}
	// group numbers within the partition
	grp := make([]int, pe-ps)
	for i := ps + 1; i < pe; i++ {
		grp[i-ps] = grp[i-1-ps]
		if !peer(i, i-1) {
			grp[i-ps]++
		}
	}
	inFrame := func(j int, b planner.FrameBound, off int64, isStart bool) bool {
		// reports whether row j is on the inner side of bound b
		switch b.Kind {
		case planner.UnboundedPreceding, planner.UnboundedFollowing:
			return true
		}
		sign := int64(0)
		switch b.Kind {
		case planner.OffsetPreceding:
			sign = -1
		case planner.OffsetFollowing:
			sign = 1
		}
		switch mode {
		case planner.FrameRows:
			lim := int64(k) + sign*off
			if isStart {
				return int64(j) >= lim
			}
			return int64(j) <= lim
		case planner.FrameGroups:
			lim := int64(grp[k-ps]) + sign*off
			if isStart {
				return int64(grp[j-ps]) >= lim
			}
			return int64(grp[j-ps]) <= lim
		}
		// RANGE
		if b.Kind == planner.CurrentRow || o[k] == nil || o[j] == nil {
			if isStart {
				return j >= gstart
			}
			return j < gend
		}
		lim := o[k].(int64) + sign*off
		if isStart {
			return o[j].(int64) >= lim
		}
		return o[j].(int64) <= lim
	}
	fs, fe := -1, -1
	for j := ps; j < pe; j++ {
		if inFrame(j, start, offS, true) && inFrame(j, end, offE, false) {
			if fs < 0 {
				fs = j
			}
			fe = j + 1
		}
	}
	if fs < 0 {
		return ps, ps
	}
	return fs, fe
}

func TestWindowFramesRandom(t *testing.T) {
	rng := seeded(t)
	data := genRows(rng, 150, 3, 8, 15) // p, o, v
	for i := range data {
		if data[i][0] != nil {
			data[i][0] = data[i][0].(int64) % 3
		}
	}
	// Reference sort: (p asc nulls last, o asc nulls last), stable on input order.
	idx := make([]int, len(data))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		if c := cmpNullable(data[idx[a]][0], data[idx[b]][0], false, false); c != 0 {
			return c < 0
		}
		return cmpNullable(data[idx[a]][1], data[idx[b]][1], false, false) < 0
	})
	sortedO := make([]types.Datum, len(idx))
	for k, i := range idx {
		sortedO[k] = data[i][1]
	}
	type b = planner.BoundKind
	kinds := []b{planner.UnboundedPreceding, planner.OffsetPreceding, planner.CurrentRow, planner.OffsetFollowing, planner.UnboundedFollowing}
	offs := []int64{0, 1, 3, 70}
	for _, mode := range []planner.FrameMode{planner.FrameRows, planner.FrameGroups, planner.FrameRange} {
		for si, sk := range kinds[:4] {
			for _, ek := range kinds[max(si, 1):] {
				for trial := 0; trial < 2; trial++ {
					offS, offE := offs[rng.Intn(len(offs))], offs[rng.Intn(len(offs))]
					start, end := planner.FrameBound{Kind: sk}, planner.FrameBound{Kind: ek}
					if sk == planner.OffsetPreceding || sk == planner.OffsetFollowing {
						start.Offset = ival(offS)
					}
					if ek == planner.OffsetPreceding || ek == planner.OffsetFollowing {
						end.Offset = ival(offE)
					}
					frame := planner.Frame{Mode: mode, Start: start, End: end}
					// expected, per input row
					want := make([]string, len(data))
					for k := range idx {
						ps, pe := k, k+1
						for ps > 0 && fmt.Sprint(data[idx[ps-1]][0]) == fmt.Sprint(data[idx[k]][0]) {
							ps--
						}
						for pe < len(idx) && fmt.Sprint(data[idx[pe]][0]) == fmt.Sprint(data[idx[k]][0]) {
							pe++
						}
						fs, fe := refFrame(mode, start, end, offS, offE, sortedO, ps, pe, k)
						var sum, mx types.Datum
						cnt := int64(0)
						for j := fs; j < fe; j++ {
							v, ok := i64(data[idx[j]][2])
							if !ok {
								continue
							}
							cnt++
							if sum == nil {
								sum = int64(0)
							}
							sum = sum.(int64) + v
							if mx == nil || v > mx.(int64) {
								mx = v
							}
						}
						want[idx[k]] = fmtRow(row{sum, cnt, mx})
					}
					for _, bs := range []int{1, 7, 1024} {
						f := newFixture(t, bs)
						scan := f.table("w", intCols("p", "o", "v"), data)
						mk := func(fn *kernels.AggFunc) planner.WindowCall {
							return planner.WindowCall{Agg: fn, Name: fn.Name, Args: []planner.Expr{ci(2)}, PartitionBy: []planner.Expr{ci(0)},
								OrderBy: []planner.SortKey{{E: ci(1)}}, Frame: frame, T: types.Int8T}
						}
						w := &planner.Window{Input: scan, Calls: []planner.WindowCall{mk(aggSum), mk(aggCount), mk(aggMax)},
							Out: schemaOf(icol("p"), icol("o"), icol("v"), icol("s"), icol("c"), icol("m"))}
						rows := f.mustRun(w)
						got := make([]string, len(rows))
						for i, r := range rows {
							got[i] = fmtRow(r[3:])
						}
						require.Equal(t, want, got, "mode=%d start=%d(%d) end=%d(%d) bs=%d", mode, sk, offS, ek, offE, bs)
					}
				}
			}
		}
	}
}

func TestWindowHugeOffsetsAndLimits(t *testing.T) {
	const huge = int64(9223372036854775807)
	data := []row{{int64(1), int64(1), int64(1)}, {int64(1), int64(2), int64(2)}, {int64(1), int64(3), int64(4)}}
	f := newFixture(t, 2)
	scan := f.table("w", intCols("p", "o", "v"), data)
	for _, mode := range []planner.FrameMode{planner.FrameRows, planner.FrameGroups} {
		frame := planner.Frame{Mode: mode, Start: planner.FrameBound{Kind: planner.CurrentRow},
			End: planner.FrameBound{Kind: planner.OffsetFollowing, Offset: ival(huge)}}
		back := planner.Frame{Mode: mode, Start: planner.FrameBound{Kind: planner.OffsetPreceding, Offset: ival(huge)},
			End: planner.FrameBound{Kind: planner.CurrentRow}}
		mk := func(fr planner.Frame) planner.WindowCall {
			return planner.WindowCall{Agg: aggSum, Name: "sum", Args: []planner.Expr{ci(2)}, OrderBy: []planner.SortKey{{E: ci(1)}}, Frame: fr, T: types.Int8T}
		}
		nth := planner.WindowCall{Name: "nth_value", Args: []planner.Expr{ci(2), ival(huge)}, OrderBy: []planner.SortKey{{E: ci(1)}}, Frame: frame, T: types.Int8T}
		w := &planner.Window{Input: scan, Calls: []planner.WindowCall{mk(frame), mk(back), nth},
			Out: schemaOf(icol("p"), icol("o"), icol("v"), icol("f"), icol("b"), icol("n"))}
		got := f.mustRun(w)
		require.Equal(t, []string{"1|1|1|7|1|NULL", "1|2|2|6|3|NULL", "1|3|4|4|7|NULL"}, fmtRows(got), "mode %d", mode)
	}
	// LIMIT near the int64 maximum with an offset.
	require.Equal(t, []string{"1|3|4"}, fmtRows(f.mustRun(&planner.Limit{Input: scan, Count: huge, Offset: 2})))
	require.Equal(t, []string{"1|3|4"}, fmtRows(f.mustRun(&planner.Limit{Input: &planner.Sort{Input: scan, Keys: []planner.SortKey{{E: ci(1)}}}, Count: huge, Offset: 2})))
}

// RANGE offsets over timestamps (interval, calendar months) and numerics;
// expected values from PostgreSQL 15:
//
//	sum(v) OVER (ORDER BY t RANGE BETWEEN '1 month' PRECEDING AND CURRENT ROW),
//	sum(v) OVER (ORDER BY t DESC RANGE BETWEEN '1 day' PRECEDING AND '2 hours' FOLLOWING),
//	sum(v) OVER (ORDER BY x RANGE BETWEEN 0.75 PRECEDING AND 0.5 FOLLOWING)
func TestWindowRangeIntervalAndNumericOffsets(t *testing.T) {
	ts := func(s string) types.Datum {
		tm, err := time.Parse("2006-01-02 15:04", s)
		require.NoError(t, err)
		return types.Timestamp(tm.UnixMicro())
	}
	num := func(s string) types.Datum {
		d, _, err := apd.NewFromString(s)
		require.NoError(t, err)
		return d
	}
	data := []row{
		{int64(1), ts("2024-01-31 10:00"), num("1.5"), int64(1)},
		{int64(2), ts("2024-02-29 09:00"), num("2.25"), int64(2)},
		{int64(3), ts("2024-02-29 11:00"), num("2.5"), int64(4)},
		{int64(4), ts("2024-03-01 00:00"), nil, int64(8)},
		{int64(5), nil, num("4.0"), int64(16)},
		{int64(6), ts("2024-03-31 10:00"), num("3.75"), int64(32)},
	}
	cols := []catalog.Column{{Name: "id", T: types.Int8T}, {Name: "t", T: types.TimestampT}, {Name: "x", T: types.NumericT}, {Name: "v", T: types.Int8T}}
	iv := func(v types.Interval) *planner.Const { return &planner.Const{Val: v, T: types.IntervalT} }
	nc := func(s string) *planner.Const { return &planner.Const{Val: num(s), T: types.NumericT} }
	rng := func(start, end planner.FrameBound) planner.Frame {
		return planner.Frame{Mode: planner.FrameRange, Start: start, End: end}
	}
	P := func(e planner.Expr) planner.FrameBound {
		return planner.FrameBound{Kind: planner.OffsetPreceding, Offset: e}
	}
	F := func(e planner.Expr) planner.FrameBound {
		return planner.FrameBound{Kind: planner.OffsetFollowing, Offset: e}
	}
	cur := planner.FrameBound{Kind: planner.CurrentRow}
	for _, bs := range batchSizes {
		f := newFixture(t, bs)
		scan := f.table("ts", cols, data)
		mk := func(key planner.SortKey, fr planner.Frame) planner.WindowCall {
			return planner.WindowCall{Agg: aggSum, Name: "sum", Args: []planner.Expr{ci(3)}, OrderBy: []planner.SortKey{key}, Frame: fr, T: types.Int8T}
		}
		w := &planner.Window{Input: scan, Calls: []planner.WindowCall{
			mk(planner.SortKey{E: col(1, types.TimestampT)}, rng(P(iv(types.Interval{Months: 1})), cur)),
			mk(planner.SortKey{E: col(1, types.TimestampT), Desc: true, NullsFirst: true}, rng(P(iv(types.Interval{Days: 1})), F(iv(types.Interval{Micros: 2 * types.MicrosPerHour})))),
			mk(planner.SortKey{E: col(2, types.NumericT)}, rng(P(nc("0.75")), F(nc("0.5")))),
		}}
		w.Out = append(append(planner.Schema{}, scan.Out...), icol("a"), icol("b"), icol("c"))
		got := f.mustRun(w)
		var res []string
		for _, r := range got {
			res = append(res, fmtRow(row{r[0], r[4], r[5], r[6]}))
		}
		require.Equal(t, strings.Fields("1|1|1|1 2|3|14|7 3|7|14|6 4|14|8|8 5|16|16|48 6|44|32|48"), res, "bs=%d", bs)
	}
}

func TestWindowRangeExactForLargeIntegers(t *testing.T) {
	const base = int64(1) << 60
	data := []row{{base, int64(1)}, {base + 1, int64(2)}, {base + 3, int64(4)}, {int64(9223372036854775807), int64(8)}}
	f := newFixture(t, 3)
	scan := f.table("w", intCols("o", "v"), data)
	frame := planner.Frame{Mode: planner.FrameRange, Start: planner.FrameBound{Kind: planner.OffsetPreceding, Offset: ival(1)},
		End: planner.FrameBound{Kind: planner.OffsetFollowing, Offset: ival(1)}}
	w := &planner.Window{Input: scan, Calls: []planner.WindowCall{{Agg: aggSum, Name: "sum", Args: []planner.Expr{ci(1)},
		OrderBy: []planner.SortKey{{E: ci(0)}}, Frame: frame, T: types.Int8T}}, Out: schemaOf(icol("o"), icol("v"), icol("s"))}
	var sums []string
	for _, r := range f.mustRun(w) {
		sums = append(sums, fmtRow(r[2:]))
	}
	// the last key is int8's maximum: v + 1 saturates instead of wrapping
	require.Equal(t, []string{"3", "3", "4", "8"}, sums)
}
