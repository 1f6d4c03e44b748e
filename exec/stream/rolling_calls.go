package stream

import (
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// rollCall is the per-partition state of one RollingCall, as slices
// indexed by partition id (bounded frames: w entries per partition for
// rings and deques).
//
// Moments (sum, avg, variances) are kept over the frame's finite values
// shifted by a per-partition centre k: s1 = Σ(x−k), s2 = Σ(x−k)². Values
// enter and leave by difference updates, and every w rows (once per full
// turn of the ring) k is reset to the frame's mean and s1, s2 recomputed
// from the ring, so rounding never accumulates beyond one frame and a large
// common offset (1e9 + tiny noise) cancels before squaring. Infinities and
// NaNs are counted instead of entering the moments.
type rollCall struct {
	RollingCall
	w int // frame rows; 0 = unbounded

	ring  []float64 // bounded: the frame's values
	rnull []bool    // bounded: the frame's NULLs
	nn    []int64   // non-NULL values in the frame
	nf    []int64   // finite values in the frame
	pinf  []int64
	ninf  []int64
	nan   []int64
	k     []float64
	s1    []float64
	s2    []float64
	lo    []float64 // unbounded sum: compensation term of s1

	dq   []uint32 // bounded min/max: row positions, a monotonic deque
	dqHd []uint32
	dqN  []uint32

	ext []float64 // unbounded min/max, unbounded ewma

	vals  []float64 // output scratch
	ivals []int64
	valid []bool
}

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
	rc := &rollCall{RollingCall: c}
	if c.Preceding >= 0 {
		rc.w = c.Preceding + 1
	}
	return rc
}

// grow makes room for partitions up to n-1.
func (rc *rollCall) grow(n int) {
	old := len(rc.nn)
	if n <= old {
		return
	}
	add := n - old
	ext := func(s []int64) []int64 { return append(s, make([]int64, add)...) }
	extF := func(s []float64) []float64 { return append(s, make([]float64, add)...) }
	rc.nn = ext(rc.nn)
	if rc.w > 0 && rc.Kind != RollCountStar {
		rc.rnull = append(rc.rnull, make([]bool, add*rc.w)...)
		if rc.Kind != RollCount {
			rc.ring = append(rc.ring, make([]float64, add*rc.w)...)
		}
	}
	switch rc.class() {
	case rcMoments:
		rc.nf, rc.pinf, rc.ninf, rc.nan = ext(rc.nf), ext(rc.pinf), ext(rc.ninf), ext(rc.nan)
		rc.k, rc.s1, rc.s2 = extF(rc.k), extF(rc.s1), extF(rc.s2)
		if rc.w == 0 {
			rc.lo = extF(rc.lo)
		}
	case rcMinMax:
		if rc.w > 0 {
			rc.dq = append(rc.dq, make([]uint32, add*rc.w)...)
			rc.dqHd = append(rc.dqHd, make([]uint32, add)...)
			rc.dqN = append(rc.dqN, make([]uint32, add)...)
		} else {
			rc.ext = extF(rc.ext)
		}
	case rcEWMA:
		if rc.w == 0 {
			rc.ext = extF(rc.ext)
		}
	}
}

// reset empties partition p's state.
func (rc *rollCall) reset(p uint32) {
	rc.nn[p] = 0
	if rc.class() == rcMoments {
		rc.nf[p], rc.pinf[p], rc.ninf[p], rc.nan[p] = 0, 0, 0, 0
		rc.k[p], rc.s1[p], rc.s2[p] = 0, 0, 0
		if rc.w == 0 {
			rc.lo[p] = 0
		}
	}
	if rc.class() == rcMinMax && rc.w > 0 {
		rc.dqHd[p], rc.dqN[p] = 0, 0
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
	rc.vals = growTo(rc.vals, n)
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
	bld := array.NewFloat64Builder(mem)
	defer bld.Release()
	bld.AppendValues(rc.vals[:n], rc.valid[:n])
	return bld.NewArray(), nil
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
		ok := !allNull && bitSet(vm, off, int(i))
		if w > 0 {
			slot := int(p)*w + int(s%uint64(w))
			if s >= uint64(w) && !rc.rnull[slot] {
				rc.nn[p]--
			}
			rc.rnull[slot] = !ok
		}
		if ok {
			rc.nn[p]++
		}
		rc.ivals[j] = rc.nn[p]
	}
}

// runMoments is sum/avg/var/stddev over bounded frames.
func (rc *rollCall) runMoments(rows []int32, pids []uint32, seqs []uint64, xs []float64, vm []byte, off int) {
	w := rc.w
	uw := uint64(w)
	ring, rnull := rc.ring, rc.rnull
	nn, nf, k, s1, s2 := rc.nn, rc.nf, rc.k, rc.s1, rc.s2
	vals, valid := rc.vals, rc.valid
	for j, i := range rows {
		p, s := pids[j], seqs[j]
		slot := int(p)*w + int(s%uint64(w))
		if s >= uw && !rnull[slot] {
			old := ring[slot]
			nn[p]--
			if isFinite(old) {
				nf[p]--
				d := old - k[p]
				s1[p] -= d
				s2[p] -= d * d
			} else {
				rc.countNonFinite(p, old, -1)
			}
		}
		x := xs[i]
		ok := vm == nil || bitSet(vm, off, int(i))
		ring[slot], rnull[slot] = x, !ok
		if ok {
			nn[p]++
			if isFinite(x) {
				if nf[p] == 0 {
					k[p], s1[p], s2[p] = x, 0, 0
				}
				nf[p]++
				d := x - k[p]
				s1[p] += d
				s2[p] += d * d
			} else {
				rc.countNonFinite(p, x, 1)
			}
		}
		if s%uw == uw-1 || offCentre(k[p], s1[p], s2[p], nf[p]) {
			rc.recentre(p)
		}
		vals[j], valid[j] = rc.momentResult(p)
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
	m2 := s2 - a/n
	t := n * k * (1.0 / (1 << 40))
	return a > 1024*n*m2+t*t
}

// recentre recomputes p's moments from its ring around their mean.
func (rc *rollCall) recentre(p uint32) {
	w := rc.w
	ring, rnull := rc.ring[int(p)*w:int(p+1)*w], rc.rnull[int(p)*w:int(p+1)*w]
	if rc.nf[p] == 0 {
		rc.k[p], rc.s1[p], rc.s2[p] = 0, 0, 0
		return
	}
	k := rc.k[p]
	var d1 float64
	for i, x := range ring {
		if !rnull[i] && isFinite(x) {
			d1 += x - k
		}
	}
	k += d1 / float64(rc.nf[p])
	var s1, s2 float64
	for i, x := range ring {
		if !rnull[i] && isFinite(x) {
			d := x - k
			s1 += d
			s2 += d * d
		}
	}
	rc.k[p], rc.s1[p], rc.s2[p] = k, s1, s2
}

func (rc *rollCall) countNonFinite(p uint32, x float64, d int64) {
	switch {
	case math.IsInf(x, 1):
		rc.pinf[p] += d
	case math.IsInf(x, -1):
		rc.ninf[p] += d
	default:
		rc.nan[p] += d
	}
}

func isFinite(x float64) bool { return x-x == 0 }

// momentResult is the call's value for p from its bounded-frame moments.
func (rc *rollCall) momentResult(p uint32) (float64, bool) {
	m2 := 0.0
	if n := float64(rc.nf[p]); n > 0 {
		m2 = rc.s2[p] - rc.s1[p]*rc.s1[p]/n
	}
	return rc.result(p, rc.k[p], rc.s1[p], m2)
}

// result is the call's value for p given the frame's centre k, Σ(x−k) and
// Σ(x−mean)² over its finite values.
func (rc *rollCall) result(p uint32, k, s1, m2 float64) (float64, bool) {
	nn := rc.nn[p]
	if nn == 0 {
		return 0, false
	}
	nonFinite := nn != rc.nf[p]
	switch rc.Kind {
	case RollSum, RollAvg:
		if nonFinite {
			switch {
			case rc.nan[p] > 0 || rc.pinf[p] > 0 && rc.ninf[p] > 0:
				return math.NaN(), true
			case rc.pinf[p] > 0:
				return math.Inf(1), true
			}
			return math.Inf(-1), true
		}
		n := float64(rc.nf[p])
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
	n := float64(rc.nf[p])
	if m2 < 0 {
		m2 = 0
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
		p := pids[j]
		if vm == nil || bitSet(vm, off, int(i)) {
			x := xs[i]
			rc.nn[p]++
			if isFinite(x) {
				if rc.nf[p] == 0 {
					rc.k[p], rc.s1[p], rc.s2[p], rc.lo[p] = x, 0, 0, 0
				}
				n := rc.nf[p]
				d := x - rc.k[p]
				mean := rc.s1[p] + rc.lo[p]
				if n > 0 {
					mean /= float64(n)
				}
				// TwoSum of s1 + d.
				t := rc.s1[p] + d
				bp := t - rc.s1[p]
				rc.lo[p] += (rc.s1[p] - (t - bp)) + (d - bp)
				rc.s1[p] = t
				rc.nf[p] = n + 1
				newMean := (rc.s1[p] + rc.lo[p]) / float64(n+1)
				rc.s2[p] += (d - mean) * (d - newMean)
			} else {
				rc.countNonFinite(p, x, 1)
			}
		}
		rc.vals[j], rc.valid[j] = rc.result(p, rc.k[p], rc.s1[p]+rc.lo[p], rc.s2[p])
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
// frames, the running extreme over unbounded ones.
func (rc *rollCall) runMinMax(rows []int32, pids []uint32, seqs []uint64, xs []float64, vm []byte, off int) {
	isMax := rc.Kind == RollMax
	w := rc.w
	for j, i := range rows {
		p, s := pids[j], seqs[j]
		ok := vm == nil || bitSet(vm, off, int(i))
		x := xs[i]
		if w == 0 {
			if ok {
				if rc.nn[p] == 0 || (isMax && pgLess(rc.ext[p], x)) || (!isMax && pgLess(x, rc.ext[p])) {
					rc.ext[p] = x
				}
				rc.nn[p]++
			}
			rc.vals[j], rc.valid[j] = rc.ext[p], rc.nn[p] > 0
			continue
		}
		base := int(p) * w
		slot := base + int(s%uint64(w))
		rc.ring[slot], rc.rnull[slot] = x, !ok
		dq := rc.dq[base : base+w]
		hd, cnt := rc.dqHd[p], rc.dqN[p]
		s32 := uint32(s)
		for cnt > 0 && s32-dq[hd] >= uint32(w) {
			hd = (hd + 1) % uint32(w)
			cnt--
		}
		if ok {
			for cnt > 0 {
				back := dq[(hd+cnt-1)%uint32(w)]
				bv := rc.ring[base+int(back%uint32(w))]
				if isMax && pgLess(x, bv) || !isMax && pgLess(bv, x) {
					break
				}
				cnt--
			}
			dq[(hd+cnt)%uint32(w)] = s32
			cnt++
		}
		rc.dqHd[p], rc.dqN[p] = hd, cnt
		if cnt == 0 {
			rc.vals[j], rc.valid[j] = 0, false
			continue
		}
		rc.vals[j], rc.valid[j] = rc.ring[base+int(dq[hd]%uint32(w))], true
	}
}

// runEWMA is ewma(x, alpha) over the frame's non-NULL values in order:
// a running fold for unbounded frames, a refold of the ring otherwise.
func (rc *rollCall) runEWMA(rows []int32, pids []uint32, seqs []uint64, xs []float64, vm []byte, off int) {
	alpha := rc.Alpha
	w := rc.w
	for j, i := range rows {
		p, s := pids[j], seqs[j]
		ok := vm == nil || bitSet(vm, off, int(i))
		x := xs[i]
		if w == 0 {
			if ok {
				rc.ext[p] = ewmaFold(rc.ext[p], x, alpha, rc.nn[p] > 0)
				rc.nn[p]++
			}
			rc.vals[j], rc.valid[j] = rc.ext[p], rc.nn[p] > 0
			continue
		}
		base := int(p) * w
		rc.ring[base+int(s%uint64(w))], rc.rnull[base+int(s%uint64(w))] = x, !ok
		var v float64
		has := false
		for q := uint64(max(int64(s)-int64(w)+1, 0)); q <= s; q++ {
			slot := base + int(q%uint64(w))
			if rc.rnull[slot] {
				continue
			}
			v = ewmaFold(v, rc.ring[slot], alpha, has)
			has = true
		}
		rc.vals[j], rc.valid[j] = v, has
	}
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
