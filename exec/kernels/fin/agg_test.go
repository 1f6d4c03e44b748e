package fin

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/types"
)

// Each aggregate is checked against an independent reference: a plain loop
// over the group's rows in arrival order, in 512-bit big.Float where sums
// or products are involved. Scenarios cover NULLs, a one-row group, an
// empty group, values with a large common offset and tiny variances; every
// scenario runs with batch sizes 1, 3 and 1024.

type scenario struct {
	name                   string
	offset, noise, nullFrq float64
}

var scenarios = []scenario{
	{"plain", 0, 1, 0.1},
	{"no_nulls", 5, 2, 0},
	{"offset_1e9", 1e9, 1e-3, 0.1},
	{"tiny_variance", 1, 1e-12, 0.05},
	{"mostly_null", 0, 1, 0.8},
}

// dataset is one generated input: rows over ng random groups, then one row
// for group ng (a one-row group); group ng+1 gets no rows.
type dataset struct {
	groups []uint32
	cols   []fcol
	ng     int
}

func genData(seed uint64, sc scenario, ncols int) dataset {
	rng := rand.New(rand.NewPCG(seed, 7))
	const ng = 7
	groups, cols := randData(rng, 400, ng, ncols, sc.nullFrq, sc.offset, sc.noise)
	groups = append(groups, ng)
	for c := range cols {
		cols[c].v = append(cols[c].v, sc.offset+sc.noise*rng.NormFloat64())
		cols[c].null = append(cols[c].null, false)
	}
	return dataset{groups: groups, cols: cols, ng: ng + 2}
}

// rowsOf lists each group's rows in arrival order.
func (d dataset) rowsOf() [][]int {
	out := make([][]int, d.ng)
	for i, g := range d.groups {
		out[g] = append(out[g], i)
	}
	return out
}

// complete reports whether row i has no NULL in cols.
func complete(cols []fcol, i int) bool {
	for _, c := range cols {
		if c.isNull(i) {
			return false
		}
	}
	return true
}

// aggCase checks one aggregate: ref computes a group's expected result
// and scale the magnitude its error is measured against.
type aggCase struct {
	name  string
	argT  []types.T
	ncols int
	prep  func(rng *rand.Rand, d *dataset) // optional: adjust generated columns
	ref   func(rows []int, cols []fcol) result
	scale func(rows []int, cols []fcol) float64
	tol   float64
}

func maxAbs(k int) func(rows []int, cols []fcol) float64 {
	return func(rows []int, cols []fcol) float64 {
		m := 0.0
		for _, i := range rows {
			if complete(cols, i) {
				m = math.Max(m, math.Abs(cols[k].v[i]))
			}
		}
		return m
	}
}

func maxSq(k int) func(rows []int, cols []fcol) float64 {
	f := maxAbs(k)
	return func(rows []int, cols []fcol) float64 { m := f(rows, cols); return m * m }
}

func bf(x float64) *big.Float { return new(big.Float).SetPrec(512).SetFloat64(x) }

func bfv(x *big.Float) float64 { v, _ := x.Float64(); return v }

// ewRef is the RiskMetrics recursion in big.Float: v₁ = a₁, vₜ = λvₜ₋₁ + (1−λ)aₜ.
type ewRef struct {
	v   *big.Float
	has bool
}

func (e *ewRef) step(a *big.Float, lambda float64) {
	if !e.has {
		e.v, e.has = a, true
		return
	}
	l := bf(lambda)
	one := bf(1)
	e.v = new(big.Float).SetPrec(512).Add(new(big.Float).SetPrec(512).Mul(l, e.v),
		new(big.Float).SetPrec(512).Mul(one.Sub(one, l), a))
}

func prod(a, b float64) *big.Float { return new(big.Float).SetPrec(512).Mul(bf(a), bf(b)) }

func ewCase(kind ewKind) aggCase {
	pair := kind == ewCov || kind == ewCorr
	nc := 2
	if pair {
		nc = 3
	}
	c := aggCase{name: kind.name(), argT: f8s(nc), ncols: nc, tol: 1e-12,
		prep: func(rng *rand.Rand, d *dataset) {
			lam := d.cols[nc-1]
			for i := range lam.v {
				lam.v[i] = 0.94
			}
		},
		ref: func(rows []int, cols []fcol) result {
			var vx, vy, cv ewRef
			for _, i := range rows {
				if !complete(cols, i) {
					continue
				}
				l := cols[nc-1].v[i]
				x := cols[0].v[i]
				y := x
				if pair {
					y = cols[1].v[i]
				}
				vx.step(prod(x, x), l)
				vy.step(prod(y, y), l)
				cv.step(prod(x, y), l)
			}
			if !vx.has {
				return result{}
			}
			switch kind {
			case ewVar:
				return result{bfv(vx.v), true}
			case ewStd:
				return result{bfv(new(big.Float).SetPrec(512).Sqrt(vx.v)), true}
			case ewCov:
				return result{bfv(cv.v), true}
			}
			if vx.v.Sign() == 0 || vy.v.Sign() == 0 {
				return result{}
			}
			den := new(big.Float).SetPrec(512).Mul(vx.v, vy.v)
			den.Sqrt(den)
			return result{bfv(new(big.Float).SetPrec(512).Quo(cv.v, den)), true}
		},
	}
	switch kind {
	case ewVar:
		c.scale = maxSq(0)
	case ewStd:
		c.scale = maxAbs(0)
	case ewCov:
		c.scale = func(rows []int, cols []fcol) float64 { return maxAbs(0)(rows, cols) * maxAbs(1)(rows, cols) }
	default:
		c.scale = func([]int, []fcol) float64 { return 1 }
	}
	return c
}

func aggCases() []aggCase {
	cases := []aggCase{
		{
			name: "ewma", argT: f8s(2), ncols: 2, tol: 1e-14, scale: maxAbs(0),
			prep: func(rng *rand.Rand, d *dataset) {
				// Per-row alpha in (0, 1], including exactly 1.
				a := d.cols[1]
				for i := range a.v {
					a.v[i] = 1 - rng.Float64()
					if i%50 == 0 {
						a.v[i] = 1
					}
				}
			},
			ref: func(rows []int, cols []fcol) result {
				var s *big.Float
				for _, i := range rows {
					if !complete(cols, i) {
						continue
					}
					x := bf(cols[0].v[i])
					if s == nil {
						s = x
						continue
					}
					// s = α·x + (1−α)·s
					a := bf(cols[1].v[i])
					one := bf(1)
					s = new(big.Float).SetPrec(512).Add(new(big.Float).SetPrec(512).Mul(a, x),
						new(big.Float).SetPrec(512).Mul(one.Sub(one, a), s))
				}
				if s == nil {
					return result{}
				}
				return result{bfv(s), true}
			},
		},
		ewCase(ewVar), ewCase(ewStd), ewCase(ewCov), ewCase(ewCorr),
		{
			name: "ofi", argT: f8s(4), ncols: 4, tol: 1e-13,
			prep: func(rng *rand.Rand, d *dataset) {
				// Prices on a tick grid (so equal prices occur), sizes positive.
				for i := range d.cols[0].v {
					d.cols[0].v[i] = 1000 + float64(rng.IntN(3))
					d.cols[2].v[i] = 1002 + float64(rng.IntN(3))
					d.cols[1].v[i] = math.Abs(d.cols[1].v[i]) + float64(rng.IntN(500))
					d.cols[3].v[i] = math.Abs(d.cols[3].v[i]) + float64(rng.IntN(500))
				}
			},
			ref: func(rows []int, cols []fcol) result {
				sum := newBigSum()
				prev := -1
				for _, i := range rows {
					if !complete(cols, i) {
						continue
					}
					if prev >= 0 {
						pb0, qb0, pa0, qa0 := cols[0].v[prev], cols[1].v[prev], cols[2].v[prev], cols[3].v[prev]
						pb, qb, pa, qa := cols[0].v[i], cols[1].v[i], cols[2].v[i], cols[3].v[i]
						if pb >= pb0 {
							sum.add(qb)
						}
						if pb <= pb0 {
							sum.add(-qb0)
						}
						if pa <= pa0 {
							sum.add(-qa)
						}
						if pa >= pa0 {
							sum.add(qa0)
						}
					}
					prev = i
				}
				if prev < 0 {
					return result{}
				}
				return result{sum.float(), true}
			},
			scale: func(rows []int, cols []fcol) float64 { return 1e3 * float64(len(rows)) },
		},
		{
			name: "vwap", argT: f8s(2), ncols: 2, tol: 1e-14, scale: maxAbs(0),
			prep: func(rng *rand.Rand, d *dataset) {
				for i := range d.cols[1].v {
					d.cols[1].v[i] = float64(1 + rng.IntN(1000))
				}
			},
			ref: func(rows []int, cols []fcol) result {
				pq, q := newBigSum(), newBigSum()
				n := 0
				for _, i := range rows {
					if complete(cols, i) {
						pq.addProd(cols[0].v[i], cols[1].v[i])
						q.add(cols[1].v[i])
						n++
					}
				}
				if n == 0 || q.f.Sign() == 0 {
					return result{}
				}
				return result{bfv(new(big.Float).SetPrec(512).Quo(pq.f, q.f)), true}
			},
		},
		{
			name: "realized_var", argT: f8s(1), ncols: 1, tol: 1e-14,
			ref: func(rows []int, cols []fcol) result {
				s := newBigSum()
				n := 0
				for _, i := range rows {
					if complete(cols, i) {
						s.addProd(cols[0].v[i], cols[0].v[i])
						n++
					}
				}
				return result{s.float(), n > 0}
			},
		},
		{
			name: "bipower_var", argT: f8s(1), ncols: 1, tol: 1e-14,
			ref: func(rows []int, cols []fcol) result {
				s := newBigSum()
				prev := math.NaN()
				for _, i := range rows {
					if !complete(cols, i) {
						continue
					}
					v := cols[0].v[i]
					if !math.IsNaN(prev) {
						s.addProd(math.Abs(v), math.Abs(prev))
					}
					prev = v
				}
				if math.IsNaN(prev) {
					return result{}
				}
				return result{bfv(s.f.Mul(s.f, bf(math.Pi/2))), true}
			},
		},
		{
			name: "zscore", argT: f8s(1), ncols: 1, tol: 1e-9,
			scale: func([]int, []fcol) float64 { return 1 },
			ref: func(rows []int, cols []fcol) result {
				sum := newBigSum()
				var vals []float64
				for _, i := range rows {
					if complete(cols, i) {
						sum.add(cols[0].v[i])
						vals = append(vals, cols[0].v[i])
					}
				}
				if len(vals) < 2 {
					return result{}
				}
				n := bf(float64(len(vals)))
				mean := new(big.Float).SetPrec(512).Quo(sum.f, n)
				ss := newBigSum()
				for _, v := range vals {
					d := new(big.Float).SetPrec(512).Sub(bf(v), mean)
					ss.f.Add(ss.f, new(big.Float).SetPrec(512).Mul(d, d))
				}
				if ss.f.Sign() == 0 {
					return result{}
				}
				variance := ss.f.Quo(ss.f, bf(float64(len(vals)-1)))
				sd := new(big.Float).SetPrec(512).Sqrt(variance)
				z := new(big.Float).SetPrec(512).Sub(bf(vals[len(vals)-1]), mean)
				return result{bfv(z.Quo(z, sd)), true}
			},
		},
	}
	for _, first := range []bool{true, false} {
		name := "last"
		if first {
			name = "first"
		}
		fst := first
		cases = append(cases, aggCase{name: name, argT: f8s(1), ncols: 1, tol: 0,
			ref: func(rows []int, cols []fcol) result {
				var r result
				for _, i := range rows {
					if complete(cols, i) {
						r = result{cols[0].v[i], true}
						if fst {
							break
						}
					}
				}
				return r
			}})
	}
	return cases
}

func TestAggregatesAgainstReference(t *testing.T) {
	for _, c := range aggCases() {
		for si, sc := range scenarios {
			seed := uint64(1000*si + len(c.name))
			d := genData(seed, sc, c.ncols)
			if c.prep != nil {
				c.prep(rand.New(rand.NewPCG(seed, 9)), &d)
			}
			rows := d.rowsOf()
			want := make([]result, d.ng)
			scale := make([]float64, d.ng)
			for g := range want {
				want[g] = c.ref(rows[g], d.cols)
				if c.scale != nil {
					scale[g] = c.scale(rows[g], d.cols)
				}
			}
			require.False(t, want[d.ng-1].ok, "empty group must be NULL")
			if c.name != "zscore" {
				require.True(t, want[d.ng-2].ok, "%s: one-row group has a value", c.name)
			}
			fn := aggOf(t, c.name, c.argT...)
			arrs := arrays(d.cols...)
			for _, bs := range batchSizes {
				msg := fmt.Sprintf("%s/%s/seed=%d/batch=%d", c.name, sc.name, seed, bs)
				got, err := runAgg(t, fn, c.argT, d.groups, d.ng, arrs, bs)
				require.NoError(t, err, msg)
				requireClose(t, want, got, c.tol, scale, msg)
			}
			release(arrs)
		}
	}
}

// TestOneRowGroups pins the documented one-row results.
func TestOneRowGroups(t *testing.T) {
	one := func(name string, vals ...float64) result {
		cols := make([]fcol, len(vals))
		for i, v := range vals {
			cols[i] = fcol{v: []float64{v}}
		}
		arrs := arrays(cols...)
		defer release(arrs)
		got, err := runAgg(t, aggOf(t, name, f8s(len(vals))...), f8s(len(vals)), []uint32{0}, 1, arrs, 1)
		require.NoError(t, err)
		return got[0]
	}
	require.Equal(t, result{7, true}, one("ewma", 7, 0.5))
	require.Equal(t, result{9, true}, one("ewvar", 3, 0.94))
	require.Equal(t, result{3, true}, one("ewstd", -3, 0.94))
	require.Equal(t, result{-6, true}, one("ewcov", 3, -2, 0.94))
	require.Equal(t, result{-1, true}, one("ewcorr", 3, -2, 0.94))
	require.Equal(t, result{0, true}, one("ofi", 10, 5, 11, 6))
	require.Equal(t, result{10, true}, one("vwap", 10, 5))
	require.Equal(t, result{4, true}, one("realized_var", -2))
	require.Equal(t, result{0, true}, one("bipower_var", -2))
	require.Equal(t, result{}, one("zscore", 5))
	require.Equal(t, result{}, one("vwap", 10, 0), "Σq = 0 is NULL")
	require.Equal(t, result{}, one("ewcorr", 0, 2, 0.5), "zero variance is NULL")
}
