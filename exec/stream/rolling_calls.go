package stream

import (
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// rollCall is the per-partition state of one RollingCall: one rollMom
// per partition (a cache line: the frame's counts and moments) and, for
// bounded frames, w ring slots per partition holding the frame's values
// (NULL as the rollNull bit pattern) and a deque for min/max.
//
// Moments (sum, avg, variances) are kept over the frame's finite values
// shifted by a per-partition centre k: s1 = Σ(x−k), s2 = Σ(x−k)². Values
// enter and leave by difference updates; every w rows (once per full turn
// of the ring), and whenever the centre has drifted from the mean so far
// that the spread would cancel (a far value just left), k is reset to the
// frame's mean and s1, s2 recomputed from the ring, so rounding never
// accumulates beyond one frame and a large common offset (1e9 + tiny
// noise) cancels before squaring. Infinities and NaNs are counted instead
// of entering the moments.
type rollCall struct {
	RollingCall
	w int // frame rows; 0 = unbounded

	mom  rollPaged[rollMom]
	ring rollPaged[float64] // bounded: the frame's values, rollNull for NULL

	dq   rollPaged[uint32] // bounded min/max: row positions, a monotonic deque
	dqHd rollPaged[uint32]
	dqN  rollPaged[uint32]

	vals  []float64 // output scratch
	ivals []int64
	valid []bool
	// runMoments' rows whose variance spreadResults finishes, with their
	// Σ(x−k) and count (their Σ(x−k)² waits in vals)
	late []bool
	s1s  []float64
	ns   []float64
}

// rollMom is one partition's frame summary. Unbounded min/max and ewma
// keep their running value in k.
type rollMom struct {
	nn, nf          int64 // non-NULL values, finite values
	k, s1, s2, lo   float64
	pinf, ninf, nan int32
	// pos is runMoments' ring slot for the partition's next row (its
	// position modulo w, kept so that no row divides), rollPosUnset
	// after reset (the next row's position then sets it).
	pos uint32
}

// rollPosUnset marks rollMom.pos as not known.
const rollPosUnset = math.MaxUint32

// rollNull marks a NULL ring slot: a NaN payload arithmetic never makes
// (NaN inputs are stored as math.NaN()).
const rollNull = 0x7ff4_0000_dead_0001

func ringNull(x float64) bool { return math.Float64bits(x) == rollNull }

type rollClass uint8

const (
	rcMoments rollClass = iota
	rcMinMax
	rcCount
	rcEWMA
)

func (rc *rollCall) class() rollClass {
	switch rc.Kind {
	case RollMin, RollMax:
		return rcMinMax
	case RollCount, RollCountStar:
		return rcCount
	case RollEWMA:
		return rcEWMA
	}
	return rcMoments
}

func newRollCall(c RollingCall) *rollCall {
	rc := &rollCall{RollingCall: c, mom: newRollPaged[rollMom](1)}
	if c.Preceding >= 0 {
		rc.w = c.Preceding + 1
	}
	if rc.w > 0 && c.Kind != RollCountStar {
		rc.ring = newRollPaged[float64](rc.w)
	}
	if rc.class() == rcMinMax && rc.w > 0 {
		rc.dq, rc.dqHd, rc.dqN = newRollPaged[uint32](rc.w), newRollPaged[uint32](1), newRollPaged[uint32](1)
	}
	return rc
}

// grow makes room for partitions up to n-1.
func (rc *rollCall) grow(n int) {
	rc.mom.grow(n)
	rc.ring.grow(n)
	rc.dq.grow(n)
	rc.dqHd.grow(n)
	rc.dqN.grow(n)
}

// bytes is the memory of the call's per-partition state.
func (rc *rollCall) bytes() int64 {
	return rc.mom.bytes() + rc.ring.bytes() + rc.dq.bytes() + rc.dqHd.bytes() + rc.dqN.bytes()
}

// warm loads the moments and next ring slot of partitions pids (see
// RollingWindow.warm).
func (rc *rollCall) warm(pids []uint32, ps *rollPaged[rollPart]) uint64 {
	var sink uint64
	if rc.ring.per == 0 {
		for _, p := range pids {
			sink += uint64(rc.mom.ref(p).nn)
		}
		return sink
	}
	w := uint64(rc.ring.per)
	for _, p := range pids {
		// The slot from the partition's position (loaded by the warm
		// loop before), not from the moments' pos: its load would wait
		// for the moments' cache miss.
		ring, slot := rc.ring.at(p), ps.ref(p).seen%w
		sink += uint64(rc.mom.ref(p).nn) + math.Float64bits(ring[slot])
		if slot == w-1 {
			// The row recentres (runMoments): the whole ring is read.
			for k := uint64(0); k < w; k += 8 {
				sink += math.Float64bits(ring[k])
			}
		}
	}
	return sink
}

// reset empties partition p's state.
func (rc *rollCall) reset(p uint32) {
	*rc.mom.ref(p) = rollMom{pos: rollPosUnset}
	if rc.dqHd.per > 0 {
		*rc.dqHd.ref(p), *rc.dqN.ref(p) = 0, 0
	}
}

// run folds rows (batch rows of partitions pids at per-partition positions
// seqs, in order) into the state and returns the window value of each.
func (rc *rollCall) run(mem memory.Allocator, b arrow.RecordBatch, rows []int32, pids []uint32, seqs []uint64) (arrow.Array, error) {
	n := len(rows)
	rc.valid = growTo(rc.valid, n)
	if rc.class() == rcCount {
		rc.ivals = growTo(rc.ivals, n)
		var vm []byte
		var off int
		allNull := false
		if rc.Kind == RollCount {
			a := b.Column(rc.Arg)
			vm, off = vec.Validity(a)
			allNull = a.DataType().ID() == arrow.NULL
		}
		rc.runCount(rows, pids, seqs, vm, off, allNull)
		bld := array.NewInt64Builder(mem)
		defer bld.Release()
		bld.AppendValues(rc.ivals[:n], nil)
		return bld.NewArray(), nil
	}
	a := b.Column(rc.Arg)
	var xs []float64
	var vm []byte
	var off int
	switch c := a.(type) {
	case *array.Float64:
		xs = c.Float64Values()
		vm, off = vec.Validity(a)
	case *array.Null:
		xs, vm, off = nil, []byte{}, 0
	default:
		return nil, pgerror.Internal("stream: rolling window argument is %s, want float8", a.DataType())
	}
	if xs == nil {
		// All NULL: feed NULLs (the frame still advances).
		xs = make([]float64, a.Len())
		vm = make([]byte, (a.Len()+7)/8)
	}
	// The results go straight into the output array's value buffer.
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(n * 8)
	rc.vals = arrow.Float64Traits.CastFromBytes(buf.Bytes())[:n]
	defer func() { rc.vals = nil }()
	switch rc.class() {
	case rcMoments:
		if rc.w > 0 {
			rc.runMoments(rows, pids, seqs, xs, vm, off)
		} else {
			rc.runMomentsUnbounded(rows, pids, xs, vm, off)
		}
	case rcMinMax:
		rc.runMinMax(rows, pids, seqs, xs, vm, off)
	case rcEWMA:
		rc.runEWMA(rows, pids, seqs, xs, vm, off)
	}
	return wrapFloats(mem, buf, rc.vals, rc.valid[:n]), nil
}

// wrapFloats makes the float8 array of vals (the contents of buf, which
// it takes over) with validity valid.
func wrapFloats(mem memory.Allocator, buf *memory.Buffer, vals []float64, valid []bool) arrow.Array {
	n := len(vals)
	nulls := 0
	for _, ok := range valid {
		if !ok {
			nulls++
		}
	}
	var vb *memory.Buffer
	if nulls > 0 {
		vb = memory.NewResizableBuffer(mem)
		vb.Resize(int(bitutil.BytesForBits(int64(n))))
		bits := vb.Bytes()
		clear(bits)
		for i, ok := range valid {
			if ok {
				bitutil.SetBit(bits, i)
			} else {
				vals[i] = 0
			}
		}
	}
	return vec.WrapBuffers(arrow.PrimitiveTypes.Float64, n, []*memory.Buffer{vb, buf}, nil, nulls)
}

func (rc *rollCall) runCount(rows []int32, pids []uint32, seqs []uint64, vm []byte, off int, allNull bool) {
	w := rc.w
	for j, i := range rows {
		p, s := pids[j], seqs[j]
		if rc.Kind == RollCountStar {
			c := int64(s) + 1
			if w > 0 {
				c = min(c, int64(w))
			}
			rc.ivals[j] = c
			continue
		}
		m := rc.mom.ref(p)
		ok := !allNull && bitSet(vm, off, int(i))
		if w > 0 {
			ring := rc.ring.at(p)
			slot := int(s % uint64(w))
			if s >= uint64(w) && !ringNull(ring[slot]) {
				m.nn--
			}
			ring[slot] = ringValue(0, ok)
		}
		if ok {
			m.nn++
		}
		rc.ivals[j] = m.nn
	}
}

// runMoments is sum/avg/var/stddev over bounded frames.
func (rc *rollCall) runMoments(rows []int32, pids []uint32, seqs []uint64, xs []float64, vm []byte, off int) {
	uw := uint64(rc.w)
	uw32 := uint32(rc.w)
	vals, valid := rc.vals, rc.valid
	// Variances of frames of finite values are finished in a second
	// loop: its divisions and square roots, independent from row to row,
	// overlap there instead of ending each row's chain of updates.
	spread := rc.Kind >= RollVarSamp && rc.Kind <= RollStddevPop
	minN := int64(1)
	if rc.Kind == RollVarSamp || rc.Kind == RollStddevSamp {
		minN = 2
	}
	var late []bool
	var s1s, ns []float64
	if spread {
		rc.late, rc.s1s, rc.ns = growTo(rc.late, len(rows)), growTo(rc.s1s, len(rows)), growTo(rc.ns, len(rows))
		late, s1s, ns = rc.late, rc.s1s, rc.ns
	}
	for j, i := range rows {
		p, s := pids[j], seqs[j]
		m := rc.mom.ref(p)
		ring := rc.ring.at(p)
		slot := m.pos
		if slot >= uw32 {
			slot = uint32(s % uw) // after a reset
		}
		if s >= uw {
			if old := ring[slot]; !ringNull(old) {
				m.nn--
				if isFinite(old) {
					m.nf--
					d := old - m.k
					m.s1 -= d
					m.s2 -= d * d
				} else {
					m.countNonFinite(old, -1)
				}
			}
		}
		if vm == nil || bitSet(vm, off, int(i)) {
			x := xs[i]
			m.nn++
			if isFinite(x) {
				if m.nf == 0 {
					m.k, m.s1, m.s2 = x, 0, 0
				}
				m.nf++
				d := x - m.k
				m.s1 += d
				m.s2 += d * d
			} else {
				m.countNonFinite(x, 1)
				if x != x {
					x = math.NaN()
				}
			}
			ring[slot] = x
		} else {
			ring[slot] = math.Float64frombits(rollNull)
		}
		if slot == uw32-1 || s >= uw && offCentre(m.k, m.s1, m.s2, m.nf) {
			m.recentre(ring)
		}
		if slot++; slot == uw32 {
			slot = 0
		}
		m.pos = slot
		if spread {
			if m.nn == m.nf && m.nf >= minN {
				vals[j], s1s[j], ns[j], late[j] = m.s2, m.s1, float64(m.nf), true
				continue
			}
			late[j] = false
		}
		vals[j], valid[j] = rc.momentResult(m)
	}
	if spread {
		rc.spreadResults(vals, valid, late[:len(rows)], s1s, ns)
	}
}

// spreadResults finishes runMoments' late rows as momentResult would:
// vals holds their Σ(x−k)², s1s Σ(x−k) and ns the count of (finite,
// at least minN) values.
func (rc *rollCall) spreadResults(vals []float64, valid, late []bool, s1s, ns []float64) {
	samp := rc.Kind == RollVarSamp || rc.Kind == RollStddevSamp
	root := rc.Kind == RollStddevSamp || rc.Kind == RollStddevPop
	vals, valid, s1s, ns = vals[:len(late)], valid[:len(late)], s1s[:len(late)], ns[:len(late)]
	for j, ok := range late {
		if !ok {
			continue
		}
		n, s1 := ns[j], s1s[j]
		m2 := vals[j] - s1*s1/n
		if m2 < 0 {
			m2 = 0 // rounding; the exact value is a sum of squares
		}
		d := n
		if samp {
			d = n - 1
		}
		v := m2 / d
		if root {
			v = math.Sqrt(v)
		}
		vals[j], valid[j] = v, true
	}
}

// offCentre reports whether the centre k has drifted so far from the
// frame's mean (a value far from the rest just left, or the level moved)
// that Σ(x−k)² − (Σ(x−k))²/n would lose the spread to cancellation:
// (Σ(x−k))²/n is more than 1024 times the spread itself, and the mean is
// more than 2⁻⁴⁰ of k away from it.
func offCentre(k, s1, s2 float64, nf int64) bool {
	if nf < 2 {
		return false
	}
	n := float64(nf)
	a := s1 * s1
	if 2*a <= n*s2 {
		// The usual case, decided without dividing: then a/n is at most
		// about s2/2, so m2 below is at least about s2/2 and
		// 1024·n·m2 ≥ 512·n·s2 ≥ 1024·a (rounding moves none of these
		// by more than a few ulps): the answer is false.
		return false
	}
	m2 := s2 - a/n
	t := n * k * (1.0 / (1 << 40))
	return a > 1024*n*m2+t*t
}

// recentre recomputes m's moments from the frame's ring around their mean.
func (m *rollMom) recentre(ring []float64) {
	if m.nf == 0 {
		m.k, m.s1, m.s2 = 0, 0, 0
		return
	}
	k := m.k
	var d1 float64
	for _, x := range ring {
		if isFinite(x) { // NULL slots are NaNs
			d1 += x - k
		}
	}
	k += d1 / float64(m.nf)
	var s1, s2 float64
	for _, x := range ring {
		if isFinite(x) {
			d := x - k
			s1 += d
			s2 += d * d
		}
	}
	m.k, m.s1, m.s2 = k, s1, s2
}

func (m *rollMom) countNonFinite(x float64, d int32) {
	switch {
	case math.IsInf(x, 1):
		m.pinf += d
	case math.IsInf(x, -1):
		m.ninf += d
	default:
		m.nan += d
	}
}

func isFinite(x float64) bool { return x-x == 0 }

// momentResult is the call's value from bounded-frame moments.
func (rc *rollCall) momentResult(m *rollMom) (float64, bool) {
	m2 := 0.0
	if n := float64(m.nf); n > 0 {
		m2 = m.s2 - m.s1*m.s1/n
	}
	return rc.result(m, m.k, m.s1, m2)
}

// result is the call's value given the frame's centre k, Σ(x−k) and
// Σ(x−mean)² over its finite values.
func (rc *rollCall) result(m *rollMom, k, s1, m2 float64) (float64, bool) {
	nn := m.nn
	if nn == 0 {
		return 0, false
	}
	nonFinite := nn != m.nf
	switch rc.Kind {
	case RollSum, RollAvg:
		if nonFinite {
			switch {
			case m.nan > 0 || m.pinf > 0 && m.ninf > 0:
				return math.NaN(), true
			case m.pinf > 0:
				return math.Inf(1), true
			}
			return math.Inf(-1), true
		}
		n := float64(m.nf)
		if rc.Kind == RollAvg {
			return k + s1/n, true
		}
		return n*k + s1, true
	}
	samp := rc.Kind == RollVarSamp || rc.Kind == RollStddevSamp
	if samp && nn < 2 {
		return 0, false
	}
	if nonFinite {
		return math.NaN(), true
	}
	n := float64(m.nf)
	if m2 < 0 {
		m2 = 0 // rounding; the exact value is a sum of squares
	}
	var v float64
	if samp {
		v = m2 / (n - 1)
	} else {
		v = m2 / n
	}
	if rc.Kind == RollStddevSamp || rc.Kind == RollStddevPop {
		v = math.Sqrt(v)
	}
	return v, true
}

// runMomentsUnbounded is sum/avg/var/stddev over running frames: a
// compensated sum (s1 + lo, shifted by the first finite value k) and
// Welford's M2 in s2.
func (rc *rollCall) runMomentsUnbounded(rows []int32, pids []uint32, xs []float64, vm []byte, off int) {
	for j, i := range rows {
		m := rc.mom.ref(pids[j])
		if vm == nil || bitSet(vm, off, int(i)) {
			x := xs[i]
			m.nn++
			if isFinite(x) {
				if m.nf == 0 {
					m.k, m.s1, m.s2, m.lo = x, 0, 0, 0
				}
				n := m.nf
				d := x - m.k
				mean := m.s1 + m.lo
				if n > 0 {
					mean /= float64(n)
				}
				// TwoSum of s1 + d.
				t := m.s1 + d
				bp := t - m.s1
				m.lo += (m.s1 - (t - bp)) + (d - bp)
				m.s1 = t
				m.nf = n + 1
				newMean := (m.s1 + m.lo) / float64(n+1)
				m.s2 += (d - mean) * (d - newMean)
			} else {
				m.countNonFinite(x, 1)
			}
		}
		rc.vals[j], rc.valid[j] = rc.result(m, m.k, m.s1+m.lo, m.s2)
	}
}

// pgLess orders float8 as PostgreSQL does (NaN above everything).
func pgLess(a, b float64) bool {
	if a != a {
		return false
	}
	return b != b || a < b
}

// runMinMax is min/max: a monotonic deque of positions over bounded
// frames, the running extreme (in k) over unbounded ones.
func (rc *rollCall) runMinMax(rows []int32, pids []uint32, seqs []uint64, xs []float64, vm []byte, off int) {
	isMax := rc.Kind == RollMax
	w := rc.w
	for j, i := range rows {
		p, s := pids[j], seqs[j]
		x, ok := rollInput(xs, vm, off, i)
		if w == 0 {
			m := rc.mom.ref(p)
			if ok {
				if m.nn == 0 || (isMax && pgLess(m.k, x)) || (!isMax && pgLess(x, m.k)) {
					m.k = x
				}
				m.nn++
			}
			rc.vals[j], rc.valid[j] = m.k, m.nn > 0
			continue
		}
		ring := rc.ring.at(p)
		ring[int(s%uint64(w))] = ringValue(x, ok)
		dq := rc.dq.at(p)
		hdp, cntp := rc.dqHd.ref(p), rc.dqN.ref(p)
		hd, cnt := *hdp, *cntp
		s32 := uint32(s)
		for cnt > 0 && s32-dq[hd] >= uint32(w) {
			hd = (hd + 1) % uint32(w)
			cnt--
		}
		if ok {
			for cnt > 0 {
				back := dq[(hd+cnt-1)%uint32(w)]
				bv := ring[int(back%uint32(w))]
				if isMax && pgLess(x, bv) || !isMax && pgLess(bv, x) {
					break
				}
				cnt--
			}
			dq[(hd+cnt)%uint32(w)] = s32
			cnt++
		}
		*hdp, *cntp = hd, cnt
		if cnt == 0 {
			rc.vals[j], rc.valid[j] = 0, false
			continue
		}
		rc.vals[j], rc.valid[j] = ring[int(dq[hd]%uint32(w))], true
	}
}

// runEWMA is ewma(x, alpha) over the frame's non-NULL values in order:
// a running fold (in k) for unbounded frames, a refold of the ring
// otherwise.
func (rc *rollCall) runEWMA(rows []int32, pids []uint32, seqs []uint64, xs []float64, vm []byte, off int) {
	alpha := rc.Alpha
	w := rc.w
	for j, i := range rows {
		p, s := pids[j], seqs[j]
		x, ok := rollInput(xs, vm, off, i)
		if w == 0 {
			m := rc.mom.ref(p)
			if ok {
				m.k = ewmaFold(m.k, x, alpha, m.nn > 0)
				m.nn++
			}
			rc.vals[j], rc.valid[j] = m.k, m.nn > 0
			continue
		}
		ring := rc.ring.at(p)
		ring[int(s%uint64(w))] = ringValue(x, ok)
		var v float64
		has := false
		for q := uint64(max(int64(s)-int64(w)+1, 0)); q <= s; q++ {
			y := ring[int(q%uint64(w))]
			if ringNull(y) {
				continue
			}
			v = ewmaFold(v, y, alpha, has)
			has = true
		}
		rc.vals[j], rc.valid[j] = v, has
	}
}

// rollInput is input row i: its value (any NaN made the canonical one)
// and whether it is non-NULL.
func rollInput(xs []float64, vm []byte, off int, i int32) (float64, bool) {
	x := xs[i]
	if x != x {
		x = math.NaN()
	}
	return x, vm == nil || bitSet(vm, off, int(i))
}

// ringValue is what a ring slot holds for an input: x, or the NULL mark.
func ringValue(x float64, ok bool) float64 {
	if ok {
		return x
	}
	return math.Float64frombits(rollNull)
}

// ewmaFold is one step of the fin ewma kernel: prev + α(x − prev), the
// first value as is.
func ewmaFold(prev, x, alpha float64, has bool) float64 {
	if !has || alpha == 1 {
		return x
	}
	v := prev + alpha*(x-prev)
	if v != v && prev == prev && x == x {
		v = alpha*x + (1-alpha)*prev
	}
	return v
}
