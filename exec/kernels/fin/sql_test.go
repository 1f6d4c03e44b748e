package fin_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/cockroachdb/apd/v3"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec"
	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/kernels/agg"
	"github.com/sabotsql/sabotsql/exec/kernels/fin"
	"github.com/sabotsql/sabotsql/exec/kernels/funcs"
	"github.com/sabotsql/sabotsql/exec/kernels/ops"
	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// These tests run SQL through the real binder, planner and batch operators
// with a registry that holds the engine's functions plus this package's
// (the engine registers fin itself once the lead wires it in). The data is
// a VALUES list whose rows arrive out of ts order, so every ORDER BY and
// window ordering is exercised; expected values come from plain loops here.

func registry() *kernels.Registry {
	r := kernels.NewRegistry()
	ops.Register(r)
	funcs.Register(r)
	agg.Register(r)
	fin.Register(r)
	return r
}

// query plans and runs sql and returns its rows as Datums.
func query(t testing.TB, sql string) ([][]types.Datum, error) {
	t.Helper()
	return queryReg(t, registry(), sql)
}

// queryReg is query with a given registry.
func queryReg(t testing.TB, reg *kernels.Registry, sql string) ([][]types.Datum, error) {
	t.Helper()
	pl := &planner.Planner{Cat: catalog.New(), Reg: reg, Ctx: &types.Ctx{}}
	q, err := pl.ParseQuery(sql)
	if err != nil {
		return nil, err
	}
	op, err := exec.Build(&exec.Env{}, q.Plan)
	if err != nil {
		return nil, err
	}
	defer op.Close()
	if err := op.Init(context.Background()); err != nil {
		return nil, err
	}
	var out [][]types.Datum
	for {
		b, err := op.Next()
		if err != nil {
			return nil, err
		}
		if b == nil || b.NumRows() == 0 {
			return out, nil
		}
		for i := 0; i < int(b.NumRows()); i++ {
			row := make([]types.Datum, b.NumCols())
			for c := range row {
				row[c] = types.GetDatum(b.Column(c), i, q.Cols[c].T)
			}
			out = append(out, row)
		}
	}
}

type tick struct {
	sym                string
	ts                 int64
	price, qty         float64
	bid, bsz, ask, asz float64
	null               bool // price is NULL
}

// ticks returns rows for three symbols in shuffled order (ts unique per symbol).
func ticks(seed uint64, n int) []tick {
	rng := rand.New(rand.NewPCG(seed, 1))
	var out []tick
	for s, sym := range []string{"AAA", "BBB", "CCC"} {
		px := 100.0 * float64(s+1)
		for i := 0; i < n; i++ {
			px += 0.25 * float64(rng.IntN(5)-2)
			out = append(out, tick{
				sym: sym, ts: int64(1000*i + rng.IntN(900)), price: px, qty: float64(1 + rng.IntN(50)),
				bid: px - 0.25*float64(rng.IntN(2)), bsz: float64(1 + rng.IntN(20)),
				ask: px + 0.25*float64(1+rng.IntN(2)), asz: float64(1 + rng.IntN(20)),
				null: rng.IntN(12) == 0,
			})
		}
	}
	out = append(out, tick{sym: "ONE", ts: 5, price: 42, qty: 3, bid: 41, bsz: 1, ask: 43, asz: 2})
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func values(ts []tick) string {
	var sb strings.Builder
	sb.WriteString("(VALUES ")
	for i, r := range ts {
		if i > 0 {
			sb.WriteString(", ")
		}
		p := fmt.Sprintf("%v::float8", r.price)
		if r.null {
			p = "NULL::float8"
		}
		fmt.Fprintf(&sb, "('%s', %d::int8, %s, %v::float8, %v::float8, %v::float8, %v::float8, %v::float8)",
			r.sym, r.ts, p, r.qty, r.bid, r.bsz, r.ask, r.asz)
	}
	sb.WriteString(") AS t(sym, ts, price, qty, bid, bsz, ask, asz)")
	return sb.String()
}

// bySym returns each symbol's rows sorted by ts.
func bySym(ts []tick) (map[string][]tick, []string) {
	m := map[string][]tick{}
	for _, r := range ts {
		m[r.sym] = append(m[r.sym], r)
	}
	var syms []string
	for s, rs := range m {
		sort.Slice(rs, func(i, j int) bool { return rs[i].ts < rs[j].ts })
		syms = append(syms, s)
	}
	sort.Strings(syms)
	return m, syms
}

func requireFloat(t *testing.T, want float64, got types.Datum, msg string, args ...any) {
	t.Helper()
	g, ok := got.(float64)
	require.True(t, ok, "%s: got %v (%T)", fmt.Sprintf(msg, args...), got, got)
	require.InDelta(t, want, g, 1e-9*math.Max(1, math.Abs(want)), fmt.Sprintf(msg, args...))
}

func TestSQLGroupByOrdered(t *testing.T) {
	data := ticks(1, 60)
	rows, err := query(t, `SELECT sym,
		ewma(price, 0.3 ORDER BY ts), vwap(price, qty), twap(price, ts ORDER BY ts),
		first(price ORDER BY ts), last(price ORDER BY ts), max(price), min(price),
		ofi(bid, bsz, ask, asz ORDER BY ts), realized_var(price / 100),
		bipower_var(price / 100 ORDER BY ts), zscore(price ORDER BY ts),
		ewvar(price - 100, 0.94 ORDER BY ts), ewcorr(price, bid, 0.9 ORDER BY ts),
		first(sym ORDER BY ts DESC)
		FROM `+values(data)+` GROUP BY sym ORDER BY sym`)
	require.NoError(t, err)
	m, syms := bySym(data)
	require.Len(t, rows, len(syms))
	for k, sym := range syms {
		r := rows[k]
		require.Equal(t, sym, r[0])
		var ew, pq, q, area, span, rv, bp, ev, cx, cy, cxy float64
		var first, last, prevP, prevAbs float64
		var prevTs int64
		n := 0
		var vals []float64
		var ofi float64
		for i, x := range m[sym] {
			if i > 0 {
				p := m[sym][i-1]
				if x.bid >= p.bid {
					ofi += x.bsz
				}
				if x.bid <= p.bid {
					ofi -= p.bsz
				}
				if x.ask <= p.ask {
					ofi -= x.asz
				}
				if x.ask >= p.ask {
					ofi += p.asz
				}
			}
			if x.null {
				continue
			}
			ret := x.price / 100
			d := x.price - 100
			if n == 0 {
				ew, first, ev = x.price, x.price, d*d
				cx, cy, cxy = x.price*x.price, x.bid*x.bid, x.price*x.bid
			} else {
				ew = 0.3*x.price + 0.7*ew
				area += prevP * float64(x.ts-prevTs)
				span += float64(x.ts - prevTs)
				bp += math.Abs(ret) * prevAbs
				ev = 0.94*ev + 0.06*d*d
				cx = 0.9*cx + 0.1*x.price*x.price
				cy = 0.9*cy + 0.1*x.bid*x.bid
				cxy = 0.9*cxy + 0.1*x.price*x.bid
			}
			last, prevP, prevTs, prevAbs = x.price, x.price, x.ts, math.Abs(ret)
			pq += x.price * x.qty
			q += x.qty
			rv += ret * ret
			vals = append(vals, x.price)
			n++
		}
		requireFloat(t, ew, r[1], "%s ewma", sym)
		requireFloat(t, pq/q, r[2], "%s vwap", sym)
		if span == 0 {
			requireFloat(t, last, r[3], "%s twap", sym)
		} else {
			requireFloat(t, area/span, r[3], "%s twap", sym)
		}
		requireFloat(t, first, r[4], "%s first", sym)
		requireFloat(t, last, r[5], "%s last", sym)
		requireFloat(t, ofi, r[8], "%s ofi", sym)
		requireFloat(t, rv, r[9], "%s realized_var", sym)
		requireFloat(t, math.Pi/2*bp, r[10], "%s bipower_var", sym)
		if n >= 2 {
			mean := 0.0
			for _, v := range vals {
				mean += v
			}
			mean /= float64(n)
			ss := 0.0
			for _, v := range vals {
				ss += (v - mean) * (v - mean)
			}
			if ss > 0 {
				requireFloat(t, (last-mean)/math.Sqrt(ss/float64(n-1)), r[11], "%s zscore", sym)
			} else {
				require.Nil(t, r[11])
			}
		} else {
			require.Nil(t, r[11], "%s zscore of one value", sym)
		}
		requireFloat(t, ev, r[12], "%s ewvar", sym)
		requireFloat(t, cxy/math.Sqrt(cx*cy), r[13], "%s ewcorr", sym)
		require.Equal(t, sym, r[14])
	}
}

func TestSQLWindows(t *testing.T) {
	data := ticks(2, 150)
	rows, err := query(t, `SELECT sym, ts,
		ewma(price, 0.2) OVER w,
		vwap(price, qty) OVER (w ROWS BETWEEN 9 PRECEDING AND CURRENT ROW),
		vwap(price, qty) OVER (w ROWS BETWEEN 99 PRECEDING AND CURRENT ROW),
		zscore(price) OVER (w ROWS BETWEEN 79 PRECEDING AND CURRENT ROW),
		log_return(price, lag(price) OVER w),
		last(price) OVER (w ROWS BETWEEN 2 PRECEDING AND CURRENT ROW),
		first(price) OVER (w ROWS BETWEEN 2 PRECEDING AND 1 FOLLOWING)
		FROM `+values(data)+` WINDOW w AS (PARTITION BY sym ORDER BY ts) ORDER BY sym, ts`)
	require.NoError(t, err)
	m, syms := bySym(data)
	k := 0
	for _, sym := range syms {
		rs := m[sym]
		var ew float64
		has := false
		for i, x := range rs {
			r := rows[k]
			k++
			require.Equal(t, sym, r[0])
			require.Equal(t, x.ts, r[1])
			if !x.null {
				if !has {
					ew, has = x.price, true
				} else {
					ew = 0.2*x.price + 0.8*ew
				}
			}
			if has {
				requireFloat(t, ew, r[2], "%s ewma row %d", sym, i)
			} else {
				require.Nil(t, r[2])
			}
			for c, width := range []int{10, 100} {
				pq, q := 0.0, 0.0
				for j := max(0, i-width+1); j <= i; j++ {
					if !rs[j].null {
						pq += rs[j].price * rs[j].qty
						q += rs[j].qty
					}
				}
				if q == 0 {
					require.Nil(t, r[3+c])
				} else {
					requireFloat(t, pq/q, r[3+c], "%s vwap(%d) row %d", sym, width, i)
				}
			}
			var win []float64
			for j := max(0, i-79); j <= i; j++ {
				if !rs[j].null {
					win = append(win, rs[j].price)
				}
			}
			checkZ(t, win, r[5], fmt.Sprintf("%s zscore row %d", sym, i))
			if i == 0 || x.null || rs[i-1].null {
				require.Nil(t, r[6])
			} else {
				requireFloat(t, math.Log(x.price/rs[i-1].price), r[6], "%s log_return row %d", sym, i)
			}
			var lastV, firstV types.Datum
			for j := max(0, i-2); j <= i; j++ {
				if !rs[j].null {
					lastV = rs[j].price
				}
			}
			for j := min(len(rs)-1, i+1); j >= max(0, i-2); j-- {
				if !rs[j].null {
					firstV = rs[j].price
				}
			}
			require.Equal(t, lastV, r[7], "%s last row %d", sym, i)
			require.Equal(t, firstV, r[8], "%s first row %d", sym, i)
		}
	}
	require.Equal(t, len(rows), k)
}

// checkZ compares a zscore result with a two-pass computation over win
// (whose last element is x_last).
func checkZ(t *testing.T, win []float64, got types.Datum, msg string) {
	t.Helper()
	if len(win) < 2 {
		require.Nil(t, got, msg)
		return
	}
	mean := 0.0
	for _, v := range win {
		mean += v
	}
	mean /= float64(len(win))
	ss := 0.0
	for _, v := range win {
		ss += (v - mean) * (v - mean)
	}
	if ss == 0 {
		require.Nil(t, got, msg)
		return
	}
	requireFloat(t, (win[len(win)-1]-mean)/math.Sqrt(ss/float64(len(win)-1)), got, "%s", msg)
}

func TestSQLCastsAndErrors(t *testing.T) {
	rows, err := query(t, `SELECT midprice(100.10, 100.20), midprice(1::float8, 2), microprice(100, 1, 101, 3),
		spread_bps(100, 101), l1_imbalance(3, 1), ewma(x, 1) FROM (VALUES (1::numeric), (2.5)) v(x)`)
	require.NoError(t, err)
	require.Len(t, rows, 1)
	require.Equal(t, "100.150", rows[0][0].(*apd.Decimal).String())
	require.Equal(t, 1.5, rows[0][1])
	require.Equal(t, 100.25, rows[0][2])
	requireFloat(t, 99.50248756218906, rows[0][3], "spread_bps")
	require.Equal(t, 0.5, rows[0][4])
	require.Equal(t, 2.5, rows[0][5], "numeric input is cast to float8; alpha 1 keeps the last value")

	_, err = query(t, `SELECT ewma(x, 1.5) FROM (VALUES (1.0), (2.0)) v(x)`)
	require.Equal(t, pgerror.InvalidParameterValue, pgerror.CodeOf(err), "%v", err)
	_, err = query(t, `SELECT ewstd(x, 1) FROM (VALUES (1.0)) v(x)`)
	require.Equal(t, pgerror.InvalidParameterValue, pgerror.CodeOf(err), "%v", err)
	_, err = query(t, `SELECT twap(p, ts) FROM (VALUES (1.0, 10::int8), (2.0, 5)) v(p, ts)`)
	require.Equal(t, pgerror.DataException, pgerror.CodeOf(err), "%v", err)
	rows, err = query(t, `SELECT twap(p, ts ORDER BY ts) FROM (VALUES (1.0, 10::int8), (2.0, 5)) v(p, ts)`)
	require.NoError(t, err)
	require.Equal(t, 2.0, rows[0][0])

	rows, err = query(t, `SELECT ewma(x, 0.5), vwap(x, x), first(x), ofi(x, x, x, x) FROM (VALUES (1.0)) v(x) WHERE false`)
	require.NoError(t, err)
	require.Equal(t, [][]types.Datum{{nil, nil, nil, nil}}, rows, "empty input gives NULL")
}
