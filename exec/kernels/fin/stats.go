package fin

import (
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/exec/kernels"
)

// bipowerState is one group's previous |r| and running Σ|rₜ||rₜ₋₁|.
type bipowerState struct {
	prev float64
	sum  ksum
	has  bool
}

// bipowerAcc is bipower_var(r) → float8, the realized bipower variation of
// Barndorff-Nielsen & Shephard (2004):
//
//	bipower_var = (π/2) · Σₜ₌₂..N |rₜ|·|rₜ₋₁|
//
// over the non-NULL returns in arrival order (a NULL row is skipped, so
// its neighbours pair up). One return yields 0; an empty group NULL.
// Order-sensitive; not retractable.
type bipowerAcc struct {
	st []bipowerState
}

func (a *bipowerAcc) Grow(n int) { a.st = growTo(a.st, n) }

func (a *bipowerAcc) MemoryBytes() int64 { return int64(cap(a.st)) * 32 }

func (a *bipowerAcc) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	r, err := floatArg("bipower_var", args, 0, len(groups))
	if err != nil {
		return err
	}
	if r.allNull {
		return nil
	}
	for i, g := range groups {
		if g == kernels.NoGroup || !r.valid(i) {
			continue
		}
		s := &a.st[g]
		v := math.Abs(r.vals[i])
		if s.has {
			s.sum.addProd(v, s.prev)
		}
		s.prev, s.has = v, true
	}
	return nil
}

func (a *bipowerAcc) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	bb, err := float64Builder("bipower_var", b)
	if err != nil {
		return err
	}
	s := &a.st[g]
	appendFloat(bb, math.Pi/2*s.sum.value(), s.has)
	return nil
}

func (a *bipowerAcc) Finish(ctx *kernels.EvalContext, b array.Builder) error {
	return finishAll(ctx, a, len(a.st), b)
}

// welford is a running count, mean and sum of squared deviations
// (Welford 1962) of the values shifted by the first one, k: keeping the
// moments of x − k instead of x makes prices with a large common level
// (1e9 + 1e-3 noise) lose nothing to that level. Both directions are O(1):
// add a value, or remove one added before (a sliding frame's oldest row).
type welford struct {
	k, n, mean, m2 float64 // mean and m2 are of x − k
}

// add includes x.
func (w *welford) add(x float64) {
	if w.n == 0 {
		w.k = x
	}
	x -= w.k
	w.n++
	d := x - w.mean
	w.mean += d / w.n
	w.m2 += d * (x - w.mean)
}

// remove excludes a value x that was added before; removing the last value
// resets the state to exactly empty.
func (w *welford) remove(x float64) {
	if w.n <= 1 {
		*w = welford{}
		return
	}
	x -= w.k
	n := w.n - 1
	d := x - w.mean
	mean := w.mean - d/n
	m2 := w.m2 - d*(x-mean)
	if m2 < 0 {
		m2 = 0 // rounding; the exact value is a sum of squares
	}
	w.n, w.mean, w.m2 = n, mean, m2
}

// stddevSamp is the sample standard deviation, ok=false below two values.
func (w *welford) stddevSamp() (float64, bool) {
	if w.n < 2 {
		return 0, false
	}
	return math.Sqrt(w.m2 / (w.n - 1)), true
}

// zscoreState is one group's moments and latest value.
type zscoreState struct {
	w    welford
	last float64
}

// zscoreAcc is zscore(x) → float8 over the group or window frame:
//
//	zscore = (x_last − mean(x)) / stddev_samp(x)
//
// where x_last is the last non-NULL value in arrival order (the current
// row in a window ordered by ts) and mean/stddev_samp are over all non-NULL
// values (Welford's update on values shifted by the group's first value,
// accurate for values with a large common offset). NULL for fewer than two values and when stddev_samp is 0.
// Order-sensitive (x_last); not retractable.
type zscoreAcc struct {
	st []zscoreState
}

func (a *zscoreAcc) Grow(n int) { a.st = growTo(a.st, n) }

func (a *zscoreAcc) MemoryBytes() int64 { return int64(cap(a.st)) * 40 }

func (a *zscoreAcc) Update(_ *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	x, err := floatArg("zscore", args, 0, len(groups))
	if err != nil {
		return err
	}
	if x.allNull {
		return nil
	}
	for i, g := range groups {
		if g == kernels.NoGroup || !x.valid(i) {
			continue
		}
		s := &a.st[g]
		v := x.vals[i]
		s.w.add(v)
		s.last = v
	}
	return nil
}

func (a *zscoreAcc) result(g uint32) (float64, bool) {
	s := &a.st[g]
	sd, ok := s.w.stddevSamp()
	if !ok || sd == 0 {
		return 0, false
	}
	return ((s.last - s.w.k) - s.w.mean) / sd, true
}

func (a *zscoreAcc) AppendResult(_ *kernels.EvalContext, g uint32, b array.Builder) error {
	bb, err := float64Builder("zscore", b)
	if err != nil {
		return err
	}
	v, ok := a.result(g)
	appendFloat(bb, v, ok)
	return nil
}

func (a *zscoreAcc) Finish(ctx *kernels.EvalContext, b array.Builder) error {
	return finishAll(ctx, a, len(a.st), b)
}
