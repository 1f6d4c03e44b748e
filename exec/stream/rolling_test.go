package stream

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// scripted is an Executor that returns a fixed list of messages.
type scripted struct {
	schema *arrow.Schema
	msgs   []Message
}

func (s *scripted) Schema() *arrow.Schema { return s.schema }
func (s *scripted) Next(context.Context) (Message, error) {
	if len(s.msgs) == 0 {
		return nil, nil
	}
	m := s.msgs[0]
	s.msgs = s.msgs[1:]
	return m, nil
}
func (s *scripted) Close() error {
	for _, m := range s.msgs {
		ReleaseMessage(m)
	}
	s.msgs = nil
	return nil
}

// rrow is one input row of the rolling tests: (seq, p, ts, x), where seq
// is the arrival number and nil pointers are NULLs.
type rrow struct {
	seq   int64
	p, ts *int64
	x     *float64
}

var rollSchema = arrow.NewSchema([]arrow.Field{
	types.ArrowField("seq", types.Int8T), types.ArrowField("p", types.Int8T),
	types.ArrowField("ts", types.Int8T), types.ArrowField("x", types.Float8T),
}, nil)

var rollTypes = []types.T{types.Int8T, types.Int8T, types.Int8T, types.Float8T}

func rollBatch(rows []rrow) arrow.RecordBatch {
	bs := []*array.Int64Builder{array.NewInt64Builder(memory.DefaultAllocator), array.NewInt64Builder(memory.DefaultAllocator), array.NewInt64Builder(memory.DefaultAllocator)}
	fb := array.NewFloat64Builder(memory.DefaultAllocator)
	for _, r := range rows {
		bs[0].Append(r.seq)
		for k, v := range []*int64{r.p, r.ts} {
			if v == nil {
				bs[k+1].AppendNull()
			} else {
				bs[k+1].Append(*v)
			}
		}
		if r.x == nil {
			fb.AppendNull()
		} else {
			fb.Append(*r.x)
		}
	}
	cols := []arrow.Array{bs[0].NewArray(), bs[1].NewArray(), bs[2].NewArray(), fb.NewArray()}
	for _, b := range bs {
		b.Release()
	}
	fb.Release()
	rb := array.NewRecordBatch(rollSchema, cols, int64(len(rows)))
	for _, c := range cols {
		c.Release()
	}
	return rb
}

// refValue is one window value of the reference: NULL when !ok.
type refValue struct {
	v  float64
	ok bool
}

// refFrame computes call c for each row of one partition (rows in window
// order) from scratch: big-float sums and two-pass variances.
func refFrame(c RollingCall, xs []*float64, ts []*int64) []refValue {
	out := make([]refValue, len(xs))
	peer := func(a, b *int64) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }
	for i := range xs {
		lo, hi := 0, i
		if c.Preceding >= 0 {
			lo = max(0, i-c.Preceding)
		}
		if c.Peers {
			for hi+1 < len(xs) && peer(ts[hi+1], ts[i]) {
				hi++
			}
		}
		var vals []float64
		for _, x := range xs[lo : hi+1] {
			if x != nil {
				vals = append(vals, *x)
			}
		}
		out[i] = refAgg(c, vals, hi+1-lo)
	}
	return out
}

func refAgg(c RollingCall, vals []float64, frameRows int) refValue {
	n := len(vals)
	switch c.Kind {
	case RollCountStar:
		return refValue{float64(frameRows), true}
	case RollCount:
		return refValue{float64(n), true}
	}
	if n == 0 {
		return refValue{}
	}
	switch c.Kind {
	case RollMin, RollMax:
		m := vals[0]
		for _, v := range vals[1:] {
			if c.Kind == RollMax && pgLess(m, v) || c.Kind == RollMin && pgLess(v, m) {
				m = v
			}
		}
		return refValue{m, true}
	case RollEWMA:
		var s float64
		for i, v := range vals {
			s = ewmaFold(s, v, c.Alpha, i > 0)
		}
		return refValue{s, true}
	}
	var nan, pinf, ninf bool
	for _, v := range vals {
		nan = nan || math.IsNaN(v)
		pinf = pinf || math.IsInf(v, 1)
		ninf = ninf || math.IsInf(v, -1)
	}
	if nan || pinf || ninf {
		samp := c.Kind == RollVarSamp || c.Kind == RollStddevSamp
		switch {
		case samp && n < 2:
			return refValue{}
		case c.Kind != RollSum && c.Kind != RollAvg, nan, pinf && ninf:
			return refValue{math.NaN(), true}
		case pinf:
			return refValue{math.Inf(1), true}
		}
		return refValue{math.Inf(-1), true}
	}
	sum := new(big.Float).SetPrec(400)
	for _, v := range vals {
		sum.Add(sum, new(big.Float).SetPrec(400).SetFloat64(v))
	}
	mean := new(big.Float).SetPrec(400).Quo(sum, new(big.Float).SetPrec(400).SetInt64(int64(n)))
	switch c.Kind {
	case RollSum:
		f, _ := sum.Float64()
		return refValue{f, true}
	case RollAvg:
		f, _ := mean.Float64()
		return refValue{f, true}
	}
	samp := c.Kind == RollVarSamp || c.Kind == RollStddevSamp
	if samp && n < 2 {
		return refValue{}
	}
	m2 := new(big.Float).SetPrec(400)
	for _, v := range vals {
		d := new(big.Float).SetPrec(400).SetFloat64(v)
		d.Sub(d, mean)
		m2.Add(m2, d.Mul(d, d))
	}
	den := int64(n)
	if samp {
		den--
	}
	m2.Quo(m2, new(big.Float).SetPrec(400).SetInt64(den))
	f, _ := m2.Float64()
	if c.Kind == RollStddevSamp || c.Kind == RollStddevPop {
		f = math.Sqrt(f)
	}
	return refValue{f, true}
}

// refCompute is the fallback WindowFunc: rows sorted by partition and
// order, partitions contiguous (told apart by column p).
func refCompute(calls []RollingCall) WindowFunc {
	return func(_ context.Context, b arrow.RecordBatch) ([]arrow.Array, error) {
		p := b.Column(1).(*array.Int64)
		tc := b.Column(2).(*array.Int64)
		x := b.Column(3).(*array.Float64)
		n := int(b.NumRows())
		out := make([][]refValue, len(calls))
		start := 0
		for i := 1; i <= n; i++ {
			if i < n && p.IsNull(i) == p.IsNull(i-1) && (p.IsNull(i) || p.Value(i) == p.Value(i-1)) {
				continue
			}
			xs := make([]*float64, 0, i-start)
			ts := make([]*int64, 0, i-start)
			for j := start; j < i; j++ {
				if x.IsNull(j) {
					xs = append(xs, nil)
				} else {
					v := x.Value(j)
					xs = append(xs, &v)
				}
				if tc.IsNull(j) {
					ts = append(ts, nil)
				} else {
					v := tc.Value(j)
					ts = append(ts, &v)
				}
			}
			for k, c := range calls {
				out[k] = append(out[k], refFrame(c, xs, ts)...)
			}
			start = i
		}
		res := make([]arrow.Array, len(calls))
		for k, c := range calls {
			res[k] = refArray(c, out[k])
		}
		return res, nil
	}
}

func refArray(c RollingCall, vs []refValue) arrow.Array {
	if c.Kind == RollCount || c.Kind == RollCountStar {
		b := array.NewInt64Builder(memory.DefaultAllocator)
		defer b.Release()
		for _, v := range vs {
			b.Append(int64(v.v))
		}
		return b.NewArray()
	}
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	defer b.Release()
	for _, v := range vs {
		if v.ok {
			b.Append(v.v)
		} else {
			b.AppendNull()
		}
	}
	return b.NewArray()
}

func rollOutSchema(calls []RollingCall) *arrow.Schema {
	fs := append([]arrow.Field{}, rollSchema.Fields()...)
	for i, c := range calls {
		t := types.Float8T
		if c.Kind == RollCount || c.Kind == RollCountStar {
			t = types.Int8T
		}
		fs = append(fs, types.ArrowField(fmt.Sprintf("w%d", i), t))
	}
	return arrow.NewSchema(fs, nil)
}

// outRow is one output row as read back: its seq and window values.
type outRow struct {
	seq  int64
	vals []refValue
}

// runRolling feeds epochs of rows through a RollingWindow and returns the
// net view: output row key → count.
func runRolling(t *testing.T, calls []RollingCall, epochs [][][]rrow, partition ...int) (map[string]int, map[string]outRow) {
	t.Helper()
	var msgs []Message
	for e, chunks := range epochs {
		for _, rows := range chunks {
			if len(rows) > 0 {
				msgs = append(msgs, &Chunk{Batch: rollBatch(rows), Ops: make([]Op, len(rows))})
			}
		}
		msgs = append(msgs, Barrier{Epoch: uint64(e + 1)})
	}
	in := &scripted{schema: rollSchema, msgs: msgs}
	if partition == nil {
		partition = []int{1}
	}
	rw, err := NewRollingWindow(in, rollTypes, rollOutSchema(calls), partition, 2, calls, refCompute(calls))
	require.NoError(t, err)
	defer func() { require.NoError(t, rw.Close()) }()
	view := map[string]int{}
	rowsByKey := map[string]outRow{}
	barriers := 0
	for {
		m, err := rw.Next(context.Background())
		require.NoError(t, err)
		if m == nil {
			break
		}
		switch m := m.(type) {
		case Barrier:
			barriers++
			require.Equal(t, uint64(barriers), m.Epoch)
		case *Chunk:
			b := m.Batch
			for i, op := range m.Ops {
				r := outRow{seq: b.Column(0).(*array.Int64).Value(i)}
				key := fmt.Sprint(r.seq)
				for k := range calls {
					a := b.Column(4 + k)
					var v refValue
					switch a := a.(type) {
					case *array.Float64:
						if a.IsValid(i) {
							v = refValue{a.Value(i), true}
						}
					case *array.Int64:
						v = refValue{float64(a.Value(i)), true}
					}
					r.vals = append(r.vals, v)
					key += fmt.Sprintf("|%v:%x", v.ok, math.Float64bits(v.v))
				}
				view[key] += int(op.Sign())
				rowsByKey[key] = r
			}
			m.Release()
		}
	}
	require.Equal(t, len(epochs), barriers)
	return view, rowsByKey
}

// checkRolling compares the net view with the reference computed over
// each partition sorted by (ts NULLS LAST, seq).
func checkRolling(t *testing.T, calls []RollingCall, epochs [][][]rrow, view map[string]int, rowsByKey map[string]outRow, msg string) {
	t.Helper()
	got := map[int64][]refValue{}
	for k, n := range view {
		require.True(t, n == 0 || n == 1, "%s: row %s has count %d", msg, k, n)
		if n == 1 {
			r := rowsByKey[k]
			_, dup := got[r.seq]
			require.False(t, dup, "%s: seq %d twice", msg, r.seq)
			got[r.seq] = r.vals
		}
	}
	parts := map[string][]rrow{}
	total := 0
	for _, e := range epochs {
		for _, c := range e {
			for _, r := range c {
				key := "null"
				if r.p != nil {
					key = fmt.Sprint(*r.p)
				}
				parts[key] = append(parts[key], r)
				total++
			}
		}
	}
	require.Len(t, got, total, msg)
	for _, rows := range parts {
		slices.SortStableFunc(rows, func(a, b rrow) int {
			switch {
			case a.ts == nil && b.ts == nil:
			case a.ts == nil:
				return 1
			case b.ts == nil:
				return -1
			case *a.ts != *b.ts:
				return int(*a.ts - *b.ts)
			}
			return int(a.seq - b.seq)
		})
		xs := make([]*float64, len(rows))
		ts := make([]*int64, len(rows))
		for i, r := range rows {
			xs[i], ts[i] = r.x, r.ts
		}
		for k, c := range calls {
			want := refFrame(c, xs, ts)
			for i, r := range rows {
				g := got[r.seq][k]
				w := want[i]
				require.Equal(t, w.ok, g.ok, "%s: seq %d call %d (%+v): NULL-ness want %v got %v", msg, r.seq, k, c, w, g)
				if !w.ok {
					continue
				}
				if math.IsNaN(w.v) || math.IsInf(w.v, 0) {
					require.Equal(t, fmt.Sprint(w.v), fmt.Sprint(g.v), "%s: seq %d call %d", msg, r.seq, k)
					continue
				}
				tol := 1e-9 * math.Abs(w.v)
				if c.Kind >= RollVarSamp && c.Kind <= RollStddevPop {
					tol = 1e-6*math.Abs(w.v) + 1e-12 // relative to a small spread
				}
				require.InDelta(t, w.v, g.v, tol, "%s: seq %d call %d (%+v)", msg, r.seq, k, c)
			}
		}
	}
}

// genRolling returns random epochs of rows: parts partitions (some rows
// with a NULL partition), ts mostly increasing per partition with ties,
// NULL ts rows, and (when disorder) occasional earlier ts; values are
// offset + noise·N(0,1) with NULLs.
func genRolling(rng *rand.Rand, nEpochs, parts int, disorder bool, offset, noise float64) [][][]rrow {
	next := map[int64]int64{}
	seq := int64(0)
	var out [][][]rrow
	for range nEpochs {
		var chunks [][]rrow
		for range 1 + rng.IntN(3) {
			var rows []rrow
			for range rng.IntN(40) {
				seq++
				r := rrow{seq: seq}
				pk := int64(rng.IntN(parts))
				if rng.IntN(50) > 0 {
					r.p = &pk
				} else {
					pk = -1
				}
				ts := next[pk]
				switch d := rng.IntN(100); {
				case d < 60:
					ts += int64(1 + rng.IntN(3))
				case d < 90: // tie
				case d < 93 && disorder:
					ts -= int64(1 + rng.IntN(5))
				}
				if ts > next[pk] {
					next[pk] = ts
				}
				if rng.IntN(200) > 0 || disorder {
					r.ts = &ts
				}
				if rng.IntN(10) > 0 {
					x := offset + noise*rng.NormFloat64()
					if rng.IntN(20) == 0 {
						x = offset // repeated values
					}
					r.x = &x
				}
				rows = append(rows, r)
			}
			chunks = append(chunks, rows)
		}
		out = append(out, chunks)
	}
	return out
}

func randomCalls(rng *rand.Rand) []RollingCall {
	var calls []RollingCall
	for range 1 + rng.IntN(4) {
		c := RollingCall{Kind: RollingKind(rng.IntN(int(RollEWMA) + 1)), Arg: 3, Preceding: rng.IntN(50)}
		if rng.IntN(5) == 0 {
			c.Preceding = -1
		}
		if rng.IntN(8) == 0 {
			c.Preceding = 0
		}
		if c.Kind == RollEWMA {
			c.Alpha = []float64{0.06, 0.5, 1}[rng.IntN(3)]
		}
		if c.Preceding < 0 && rng.IntN(2) == 0 {
			c.Peers = true
		}
		calls = append(calls, c)
	}
	return calls
}

// TestRollingWindowRandom checks the operator against a from-scratch
// reference on random append-only input: many partitions, NULLs, ties,
// frames of 1..50 rows and unbounded, values with a large common offset.
// Without disorder every row stays on the fast path; with it, some
// partitions move to the fallback mid-stream.
func TestRollingWindowRandom(t *testing.T) {
	for seed := uint64(1); seed <= 60; seed++ {
		for _, disorder := range []bool{false, true} {
			rng := rand.New(rand.NewPCG(seed, 99))
			calls := randomCalls(rng)
			offset, noise := []float64{0, 1e9, -5e6}[seed%3], []float64{1, 1e-3, 100}[seed%3]
			epochs := genRolling(rng, 8, 1+rng.IntN(30), disorder, offset, noise)
			// PARTITION BY p, p groups like p but takes the generic
			// row-key path.
			part := []int{1}
			switch seed % 4 {
			case 0:
				part = []int{1, 1}
			case 1: // keys outside the direct table
				for _, e := range epochs {
					for _, c := range e {
						for _, r := range c {
							if r.p != nil {
								*r.p = *r.p*7919 - 1<<40
							}
						}
					}
				}
			}
			view, rows := runRolling(t, calls, epochs, part...)
			checkRolling(t, calls, epochs, view, rows, fmt.Sprintf("seed %d disorder %v calls %+v", seed, disorder, calls))
		}
	}
}

// TestRollingWindowDrift runs one long partition of values near 1e9 with
// tiny noise through a 20-row stddev, sum and avg: after thousands of
// difference updates and spikes entering and leaving the frame the results still match
// the exact reference closely.
func TestRollingWindowDrift(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	calls := []RollingCall{{Kind: RollStddevSamp, Arg: 3, Preceding: 19}, {Kind: RollSum, Arg: 3, Preceding: 19},
		{Kind: RollAvg, Arg: 3, Preceding: 19}, {Kind: RollVarPop, Arg: 3, Preceding: 49}, {Kind: RollMax, Arg: 3, Preceding: 7}}
	var epochs [][][]rrow
	seq := int64(0)
	p := int64(1)
	for range 8 {
		var rows []rrow
		for range 1000 {
			seq++
			ts, x := seq, 1e9+1e-3*rng.NormFloat64()
			if seq%997 == 0 {
				x = 1e9 + 5e5 // a spike leaves the frame 20 rows later
			}
			rows = append(rows, rrow{seq: seq, p: &p, ts: &ts, x: &x})
		}
		epochs = append(epochs, [][]rrow{rows})
	}
	view, rows := runRolling(t, calls, epochs)
	checkRolling(t, calls, epochs, view, rows, "drift")
}

// TestRollingWindowNonFinite covers infinities and NaN entering and
// leaving a frame.
func TestRollingWindowNonFinite(t *testing.T) {
	vals := []float64{1, math.Inf(1), 2, math.NaN(), 3, math.Inf(-1), 4, 5, 6, 7, math.Inf(1), math.Inf(-1), 8, 9, 10}
	var calls []RollingCall
	for k := RollSum; k <= RollEWMA; k++ {
		calls = append(calls, RollingCall{Kind: k, Arg: 3, Preceding: 2, Alpha: 0.5})
	}
	p := int64(0)
	var rows []rrow
	for i, v := range vals {
		ts, x := int64(i), v
		rows = append(rows, rrow{seq: int64(i + 1), p: &p, ts: &ts, x: &x})
	}
	epochs := [][][]rrow{{rows}}
	view, got := runRolling(t, calls, epochs)
	checkRolling(t, calls, epochs, view, got, "non-finite")
}

// TestRollingWindowFallbackRetracts checks the output changes when one
// partition receives an out-of-order row. With a bounded frame the rows
// whose frames now hold the row are retracted and re-emitted at once;
// with an unbounded one the partition moves to the fallback OverWindow
// (its earlier rows retracted, all re-emitted at the barrier). Other
// partitions are untouched.
func TestRollingWindowFallbackRetracts(t *testing.T) {
	mk := func(seq, p, ts int64, x float64) rrow { return rrow{seq: seq, p: &p, ts: &ts, x: &x} }
	epochs := [][][]rrow{
		{{mk(1, 1, 10, 1), mk(2, 1, 20, 2), mk(3, 2, 10, 5)}},
		{{mk(4, 1, 15, 4), mk(5, 2, 20, 6)}},
		{{mk(6, 1, 30, 8)}},
	}
	run := func(calls []RollingCall) [][]string {
		var msgs []Message
		for e, chunks := range epochs {
			for _, rows := range chunks {
				msgs = append(msgs, &Chunk{Batch: rollBatch(rows), Ops: make([]Op, len(rows))})
			}
			msgs = append(msgs, Barrier{Epoch: uint64(e + 1)})
		}
		rw, err := NewRollingWindow(&scripted{schema: rollSchema, msgs: msgs}, rollTypes, rollOutSchema(calls), []int{1}, 2, calls, refCompute(calls))
		require.NoError(t, err)
		defer rw.Close()
		var epochOut [][]string
		var cur []string
		for {
			m, err := rw.Next(context.Background())
			require.NoError(t, err)
			if m == nil {
				break
			}
			switch m := m.(type) {
			case Barrier:
				slices.Sort(cur)
				epochOut = append(epochOut, cur)
				cur = nil
			case *Chunk:
				lines := formatRows(m.Batch, append(append([]types.T{}, rollTypes...), types.Float8T))
				for i, op := range m.Ops {
					cur = append(cur, op.String()+" "+lines[i])
				}
				m.Release()
			}
		}
		return epochOut
	}
	require.Equal(t, [][]string{
		{"+ 1 1 10 1 1", "+ 2 1 20 2 3", "+ 3 2 10 5 5"},
		// seq 4 (ts 15) lands between ts 10 and 20 of partition 1: only
		// ts 20's frame (1 preceding) changes.
		{"+ 2 1 20 2 6", "+ 4 1 15 4 5", "+ 5 2 20 6 11", "- 2 1 20 2 3"},
		{"+ 6 1 30 8 10"},
	}, run([]RollingCall{{Kind: RollSum, Arg: 3, Preceding: 1}}))
	require.Equal(t, [][]string{
		{"+ 1 1 10 1 1", "+ 2 1 20 2 3", "+ 3 2 10 5 5"},
		{"+ 1 1 10 1 1", "+ 2 1 20 2 7", "+ 4 1 15 4 5", "+ 5 2 20 6 11", "- 1 1 10 1 1", "- 2 1 20 2 3"},
		{"+ 6 1 30 8 15"},
	}, run([]RollingCall{{Kind: RollSum, Arg: 3, Preceding: -1}}))
}

// TestRollingWindowPeers checks RANGE UNBOUNDED PRECEDING frames: a row
// tying with its partition's last row changes that row's value, so the
// partition is recomputed; rows in order keep the fast path.
func TestRollingWindowPeers(t *testing.T) {
	calls := []RollingCall{{Kind: RollSum, Arg: 3, Preceding: -1, Peers: true}, {Kind: RollCountStar, Preceding: -1, Peers: true}}
	mk := func(seq, p, ts int64, x float64) rrow { return rrow{seq: seq, p: &p, ts: &ts, x: &x} }
	epochs := [][][]rrow{
		{{mk(1, 1, 1, 1), mk(2, 1, 2, 2), mk(3, 2, 1, 10)}},
		{{mk(4, 1, 2, 4), mk(5, 2, 2, 20)}, {mk(6, 1, 3, 8), mk(7, 2, 2, 30)}},
		{{mk(8, 2, 3, 1)}},
	}
	view, rows := runRolling(t, calls, epochs)
	checkRolling(t, calls, epochs, view, rows, "peers")
	byseq := map[int64][]refValue{}
	for k, n := range view {
		if n == 1 {
			byseq[rows[k].seq] = rows[k].vals
		}
	}
	require.Equal(t, refValue{7, true}, byseq[2][0], "seq 2 sees its peer seq 4")
	require.Equal(t, refValue{60, true}, byseq[7][0])
	require.Equal(t, refValue{3, true}, byseq[5][1])
}

// TestRollingWindowMemBudget checks the operator charges its state to a
// budget, fails with 53200 when refused, and releases it on Close.
func TestRollingWindowMemBudget(t *testing.T) {
	calls := []RollingCall{{Kind: RollStddevSamp, Arg: 3, Preceding: 19}}
	rng := rand.New(rand.NewPCG(1, 1))
	epochs := genRolling(rng, 4, 50, false, 0, 1)
	mk := func(limit int64) (*RollingWindow, *MemLimit) {
		var msgs []Message
		for e, chunks := range epochs {
			for _, rows := range chunks {
				if len(rows) > 0 {
					msgs = append(msgs, &Chunk{Batch: rollBatch(rows), Ops: make([]Op, len(rows))})
				}
			}
			msgs = append(msgs, Barrier{Epoch: uint64(e + 1)})
		}
		lim := NewMemLimit("test view", limit, nil)
		rw, err := NewRollingWindow(&scripted{schema: rollSchema, msgs: msgs}, rollTypes, rollOutSchema(calls), []int{1}, 2, calls, refCompute(calls))
		require.NoError(t, err)
		return rw.WithMemBudget(lim), lim
	}
	rw, lim := mk(0)
	for {
		m, err := rw.Next(context.Background())
		require.NoError(t, err)
		if m == nil {
			break
		}
		ReleaseMessage(m)
	}
	require.Positive(t, lim.Used())
	require.Equal(t, rw.StateBytes(), lim.Used())
	require.NoError(t, rw.Close())
	require.Zero(t, lim.Used())

	rw, lim = mk(2000)
	var err error
	for err == nil {
		var m Message
		m, err = rw.Next(context.Background())
		if m == nil && err == nil {
			t.Fatal("a 2000-byte budget was enough")
		}
		ReleaseMessage(m)
	}
	require.Equal(t, pgerror.OutOfMemory, pgerror.CodeOf(err), "%v", err)
	require.NoError(t, rw.Close())
	require.Zero(t, lim.Used())
}

// TestRollingWindowTrimFlat runs a long stream whose rows arrive out of
// order within a bounded lateness, with a watermark on the ORDER BY column
// before every barrier (no row is ever below it): the history the operator
// keeps stays flat (counted in rows, batches and slab entries, not time)
// while the view stays exact.
func TestRollingWindowTrimFlat(t *testing.T) {
	calls := []RollingCall{{Kind: RollStddevSamp, Arg: 3, Preceding: 4}, {Kind: RollSum, Arg: 3, Preceding: 2},
		{Kind: RollMin, Arg: 3, Preceding: 4}, {Kind: RollCount, Arg: 3, Preceding: 3}, {Kind: RollEWMA, Arg: 3, Preceding: 4, Alpha: 0.5},
		{Kind: RollCountStar, Preceding: 1}}
	rng := rand.New(rand.NewPCG(7, 7))
	const parts, perEpoch, nEpochs = 7, 50, 700
	var epochs [][][]rrow
	var msgs []Message
	seq := int64(0)
	for e := range nEpochs {
		var rows []rrow
		for range perEpoch {
			seq++
			p := int64(rng.IntN(parts))
			// Out of order within the epoch, overlapping the next one; the
			// watermark after epoch e is (e+1)·100, which rows may equal.
			ts := int64(e*100 + rng.IntN(150))
			r := rrow{seq: seq, p: &p, ts: &ts}
			if rng.IntN(10) > 0 {
				x := 100 + rng.NormFloat64()
				r.x = &x
			}
			rows = append(rows, r)
		}
		epochs = append(epochs, [][]rrow{rows})
		msgs = append(msgs, &Chunk{Batch: rollBatch(rows), Ops: make([]Op, len(rows))},
			Watermark{Col: 2, Value: int64((e + 1) * 100)}, Barrier{Epoch: uint64(e + 1)})
	}
	rw, err := NewRollingWindow(&scripted{schema: rollSchema, msgs: msgs}, rollTypes, rollOutSchema(calls), []int{1}, 2, calls, refCompute(calls))
	require.NoError(t, err)
	defer func() { require.NoError(t, rw.Close()) }()
	require.True(t, rw.trimmable)
	view := map[string]int{}
	rowsByKey := map[string]outRow{}
	barriers, maxLive, maxBatches, maxHist := 0, int64(0), 0, int64(0)
	var maxBytes int64
	for {
		m, err := rw.Next(context.Background())
		require.NoError(t, err)
		if m == nil {
			break
		}
		switch m := m.(type) {
		case Barrier:
			barriers++
			if barriers > 10 {
				maxLive, maxBatches = max(maxLive, rw.live), max(maxBatches, len(rw.batches))
				maxHist, maxBytes = max(maxHist, rw.nHist), max(maxBytes, rw.StateBytes())
			}
		case *Chunk:
			collectRolling(m, len(calls), view, rowsByKey)
			m.Release()
		}
	}
	require.Equal(t, nEpochs, barriers)
	// Kept per partition: the rows at or above the last watermark (about
	// one epoch's) plus 4 frame rows below it.
	require.LessOrEqual(t, maxLive, int64(2*perEpoch+parts*4), "retained rows")
	// Dead history is compacted away: slab entries and batches stay
	// bounded although the stream had 35,000 rows in 700 batches.
	require.LessOrEqual(t, maxHist, int64(trimCompactMin+perEpoch))
	require.Less(t, maxBatches, trimCompactMin/perEpoch+10)
	require.Less(t, maxBytes, int64(8<<20))
	checkRolling(t, calls, epochs, view, rowsByKey, "trimmed")
}

// collectRolling adds an output chunk of the rolling tests to the net
// view (keyed by seq and window values).
func collectRolling(m *Chunk, ncalls int, view map[string]int, rowsByKey map[string]outRow) {
	b := m.Batch
	for i, op := range m.Ops {
		r := outRow{seq: b.Column(0).(*array.Int64).Value(i)}
		key := fmt.Sprint(r.seq)
		for k := range ncalls {
			var v refValue
			switch a := b.Column(4 + k).(type) {
			case *array.Float64:
				if a.IsValid(i) {
					v = refValue{a.Value(i), true}
				}
			case *array.Int64:
				v = refValue{float64(a.Value(i)), true}
			}
			r.vals = append(r.vals, v)
			key += fmt.Sprintf("|%v:%x", v.ok, math.Float64bits(v.v))
		}
		view[key] += int(op.Sign())
		rowsByKey[key] = r
	}
}

// TestRollingWindowTrimLarge is TestRollingWindowTrimFlat with a history
// of several slabs: compaction moves entries across slabs, keeps the
// mostly live batches and copies the rest, and later out-of-order rows
// replay over the renumbered links.
func TestRollingWindowTrimLarge(t *testing.T) {
	calls := []RollingCall{{Kind: RollStddevSamp, Arg: 3, Preceding: 9}, {Kind: RollMax, Arg: 3, Preceding: 3}}
	rng := rand.New(rand.NewPCG(11, 5))
	epochs, msgs := randomRollEpochs(rng, 2500, 20, 3, 2000, 150)
	rw, err := NewRollingWindow(&scripted{schema: rollSchema, msgs: msgs}, rollTypes, rollOutSchema(calls), []int{1}, 2, calls, refCompute(calls))
	require.NoError(t, err)
	defer func() { require.NoError(t, rw.Close()) }()
	view := map[string]int{}
	rowsByKey := map[string]outRow{}
	compactions, lastHist := 0, int64(0)
	for {
		m, err := rw.Next(context.Background())
		require.NoError(t, err)
		if m == nil {
			break
		}
		switch m := m.(type) {
		case Barrier:
			if rw.nHist < lastHist {
				compactions++
				require.Equal(t, rw.live, rw.nHist)
				require.Greater(t, rw.nHist, int64(histSlab), "live history spans slabs")
			}
			lastHist = rw.nHist
		case *Chunk:
			collectRolling(m, len(calls), view, rowsByKey)
			m.Release()
		}
	}
	require.Positive(t, compactions)
	checkRolling(t, calls, epochs, view, rowsByKey, "trimmed large")
}

// TestRollingWindowHistoryLimit: a chunk that would take the history past
// the entries its int32 links can address fails with 54000 before any of
// its rows is taken (the history is as it was).
func TestRollingWindowHistoryLimit(t *testing.T) {
	calls := []RollingCall{{Kind: RollSum, Arg: 3, Preceding: 2}}
	var rows []rrow
	for i := range 3 {
		p, ts, x := int64(1), int64(i), float64(i)
		rows = append(rows, rrow{seq: int64(i + 1), p: &p, ts: &ts, x: &x})
	}
	msgs := []Message{&Chunk{Batch: rollBatch(rows), Ops: make([]Op, len(rows))}}
	rw, err := NewRollingWindow(&scripted{schema: rollSchema, msgs: msgs}, rollTypes, rollOutSchema(calls), []int{1}, 2, calls, refCompute(calls))
	require.NoError(t, err)
	defer func() { require.NoError(t, rw.Close()) }()
	rw.nHist = histMaxEntries - 2
	_, err = rw.Next(context.Background())
	require.Equal(t, pgerror.ProgramLimitExceeded, pgerror.CodeOf(err), "%v", err)
	require.Equal(t, int64(histMaxEntries-2), rw.nHist)
	require.Empty(t, rw.batches)
}

// TestGrowState: growState keeps the elements, zeroes the new ones and
// reuses spare capacity, through reallocations large enough to be
// advised huge pages.
func TestGrowState(t *testing.T) {
	var s []int64
	n := 0
	for _, m := range []int{1, 3, 300, 301, 5 << 20, 5<<20 + 7, 9 << 20} {
		s = growState(s, m)
		require.Len(t, s, m)
		bad := 0
		for i := range s {
			if i < n && s[i] != int64(i+1) || i >= n && s[i] != 0 {
				bad++
			}
			s[i] = int64(i + 1)
		}
		require.Zero(t, bad, "grown to %d", m)
		n = m
	}
	c := cap(s)
	require.Len(t, growState(s, 3), len(s))
	require.Equal(t, c, cap(growState(s, c)))
}

// TestRollingWindowManyPartitions: partitions past several pages of the
// per-partition state (rollPaged) and past warmMinParts, with rows out of
// order (replayed in place under bounded frames with a watermark, or
// moved to the fallback when a frame is unbounded).
func TestRollingWindowManyPartitions(t *testing.T) {
	bounded := []RollingCall{{Kind: RollStddevSamp, Arg: 3, Preceding: 4}, {Kind: RollMax, Arg: 3, Preceding: 3},
		{Kind: RollCount, Arg: 3, Preceding: 2}, {Kind: RollEWMA, Arg: 3, Preceding: 3, Alpha: 0.5}, {Kind: RollSum, Arg: 3, Preceding: 5}}
	unbounded := []RollingCall{{Kind: RollVarPop, Arg: 3, Preceding: 6}, {Kind: RollAvg, Arg: 3, Preceding: -1}}
	for ci, calls := range [][]RollingCall{bounded, unbounded} {
		rng := rand.New(rand.NewPCG(uint64(ci), 17))
		parts := 2*rollPageParts + warmMinParts + 17
		epochs, msgs := randomRollEpochs(rng, parts, 5, 4, 4000, 120)
		rw, err := NewRollingWindow(&scripted{schema: rollSchema, msgs: msgs}, rollTypes, rollOutSchema(calls), []int{1}, 2, calls, refCompute(calls))
		require.NoError(t, err)
		view := map[string]int{}
		rowsByKey := map[string]outRow{}
		for {
			m, err := rw.Next(context.Background())
			require.NoError(t, err)
			if m == nil {
				break
			}
			if c, ok := m.(*Chunk); ok {
				collectRolling(c, len(calls), view, rowsByKey)
				c.Release()
			}
		}
		require.Greater(t, rw.ps.n, 2*rollPageParts)
		require.NoError(t, rw.Close())
		checkRolling(t, calls, epochs, view, rowsByKey, fmt.Sprintf("calls %d", ci))
	}
}

// TestOffCentreShortcut: offCentre's division-free early answer agrees
// with the full test on random and extreme moments.
func TestOffCentreShortcut(t *testing.T) {
	full := func(k, s1, s2 float64, nf int64) bool {
		if nf < 2 {
			return false
		}
		n := float64(nf)
		a := s1 * s1
		m2 := s2 - a/n
		tt := n * k * (1.0 / (1 << 40))
		return a > 1024*n*m2+tt*tt
	}
	rng := rand.New(rand.NewPCG(3, 4))
	vals := []float64{0, -0.0, 1e-300, -1e-300, 1e300, -1e300, math.Inf(1), math.Inf(-1), math.NaN(), 1, -1, 1e9, 5e-324}
	pick := func() float64 {
		if rng.IntN(4) == 0 {
			return vals[rng.IntN(len(vals))]
		}
		return (rng.Float64()*2 - 1) * math.Pow(10, float64(rng.IntN(40)-20))
	}
	for range 2_000_000 {
		k, s1, s2, nf := pick(), pick(), pick(), int64(rng.IntN(60))
		switch rng.IntN(3) {
		case 0: // near the full test's boundary: s2 close to s1²/n
			s2 = s1 * s1 / float64(max(nf, 1)) * (1 + (rng.Float64()-0.5)*math.Pow(2, -float64(rng.IntN(60))))
		case 1: // near the shortcut's: s2 close to 2·s1²/n
			s2 = 2 * s1 * s1 / float64(max(nf, 1)) * (1 + (rng.Float64()-0.5)*math.Pow(2, -float64(rng.IntN(60))))
		}
		require.Equal(t, full(k, s1, s2, nf), offCentre(k, s1, s2, nf), "k %v s1 %v s2 %v nf %d", k, s1, s2, nf)
	}
}

// randomRollEpochs draws nEpochs epochs of nChunks chunks of perChunk rows
// over parts partitions: epoch e's times in [100e, 100e+spread), a tenth of
// the values NULL; each epoch ends with a watermark at 100(e+1) and its
// barrier. It returns the rows by epoch and chunk, and the messages.
func randomRollEpochs(rng *rand.Rand, parts, nEpochs, nChunks, perChunk, spread int) ([][][]rrow, []Message) {
	var epochs [][][]rrow
	var msgs []Message
	seq := int64(0)
	for e := range nEpochs {
		var chunks [][]rrow
		for range nChunks {
			var rows []rrow
			for range perChunk {
				seq++
				p := int64(rng.IntN(parts))
				ts := int64(e*100 + rng.IntN(spread))
				r := rrow{seq: seq, p: &p, ts: &ts}
				if rng.IntN(10) > 0 {
					x := 100 + rng.NormFloat64()
					r.x = &x
				}
				rows = append(rows, r)
			}
			chunks = append(chunks, rows)
			msgs = append(msgs, &Chunk{Batch: rollBatch(rows), Ops: make([]Op, len(rows))})
		}
		epochs = append(epochs, chunks)
		msgs = append(msgs, Watermark{Col: 2, Value: int64((e + 1) * 100)}, Barrier{Epoch: uint64(e + 1)})
	}
	return epochs, msgs
}
