package stream

import (
	"sort"

	"github.com/sabotsql/sabotsql/sql/types"
)

// Watermarks in an AsOfJoin with ">=" or ">" (each left row joins the
// latest right row at or before its time, per key).
//
// Let B be the smaller of the two inputs' latest watermarks on their time
// columns. No later row of either input (deletes included) has its time
// below its own watermark, so every later change is a left row at or
// above B, or a right row at x >= B, which revises only left rows at or
// after x. Hence
//
//   - left rows below B are final: no later change retracts or re-matches
//     them, and they are dropped;
//   - a left row kept (at or after B) or to come matches a right row at or
//     after the last one below B, so the right rows before that one — at a
//     time below it, all ties of it kept — are dropped; that last row itself
//     is below B ≤ the right watermark, so it is never retracted either;
//   - every later output row carries a left time at or above B, so B is
//     forwarded as a watermark on the left time column (aggregates and
//     EMIT ON WINDOW CLOSE over an as-of join close on the trades' time).
//
// Cleanup visits every key, so it runs when B rose and the join took at
// least a quarter as many rows since the last cleanup as that cleanup
// kept (amortized O(1) per row); forwarding does not wait for it.
type asofWatermarks struct {
	wm    [2]types.Datum // per side: the latest watermark on its time column
	bound types.Datum    // the last B forwarded
	done  types.Datum    // the B of the last cleanup
	added int            // rows taken since the last cleanup
	kept  int            // rows kept by the last cleanup
}

// watermark takes watermark w of side s and returns the watermark to
// forward, if B rose.
func (j *AsOfJoin) watermark(s int, w Watermark) (*Watermark, error) {
	if w.Value == nil || w.Col != j.time[s] || (j.op != ">=" && j.op != ">") {
		return nil, nil
	}
	wm := &j.wms
	if prev := wm.wm[s]; prev != nil && types.Compare(w.Value, prev, j.timeT) <= 0 {
		return nil, nil
	}
	wm.wm[s] = w.Value
	a, b := wm.wm[0], wm.wm[1]
	if a == nil || b == nil {
		return nil, nil
	}
	lo := a
	if types.Compare(b, a, j.timeT) < 0 {
		lo = b
	}
	if wm.bound != nil && types.Compare(lo, wm.bound, j.timeT) <= 0 {
		return nil, nil
	}
	wm.bound = lo
	if 4*wm.added >= wm.kept {
		wm.kept = j.dropBelow(lo)
		wm.added, wm.done = 0, lo
		if err := j.charge.set(j.StateBytes()); err != nil {
			return nil, err
		}
	}
	return &Watermark{Col: j.time[0], Value: lo}, nil
}

// dropBelow drops the left rows below b and, per key, the right rows
// before the last one below b; it returns the rows kept.
func (j *AsOfJoin) dropBelow(b types.Datum) int {
	kept := 0
	below := func(g *asofGroup) int {
		return sort.Search(len(g.rows), func(k int) bool { return types.Compare(g.rows[k].time, b, j.timeT) >= 0 })
	}
	cut := func(m map[string]*asofGroup, key string, g *asofGroup, n int) {
		for _, r := range g.rows[:n] {
			j.bytes -= asofRowBytes(r)
		}
		k := copy(g.rows, g.rows[n:])
		clear(g.rows[k:])
		g.rows = g.rows[:k]
		if len(g.rows) == 0 {
			delete(m, key)
			j.bytes -= asofGroupBytes(key)
		}
		kept += len(g.rows)
	}
	for key, g := range j.lefts {
		cut(j.lefts, key, g, below(g))
	}
	for key, g := range j.rights {
		n := below(g)
		if n == 0 {
			kept += len(g.rows)
			continue
		}
		// Keep the last time below b, with all its ties.
		last := g.rows[n-1].time
		n = sort.Search(n, func(k int) bool { return types.Compare(g.rows[k].time, last, j.timeT) >= 0 })
		cut(j.rights, key, g, n)
	}
	return kept
}
