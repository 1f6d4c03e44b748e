package exec

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

var asofFns = map[string]func(c int) bool{
	">=": func(c int) bool { return c >= 0 },
	">":  func(c int) bool { return c > 0 },
	"<=": func(c int) bool { return c <= 0 },
	"<":  func(c int) bool { return c < 0 },
}

// naiveAsOf is the nested-loop reference: left rows (k, ts, id), right rows
// (k, ts, v); ties on ts go to the smallest v (NULL first), the order the
// canonical key encoding of an all-int8 row gives.
func naiveAsOf(left, right []row, op string, outer bool) []row {
	ok := asofFns[op]
	less := func(a, b types.Datum) bool { // NULL first
		if a == nil || b == nil {
			return a == nil && b != nil
		}
		return a.(int64) < b.(int64)
	}
	var out []row
	for _, l := range left {
		var best row
		if l[0] != nil && l[1] != nil {
			for _, r := range right {
				if r[0] == nil || r[1] == nil || r[0].(int64) != l[0].(int64) {
					continue
				}
				lt, rt := l[1].(int64), r[1].(int64)
				c := 0
				if lt < rt {
					c = -1
				} else if lt > rt {
					c = 1
				}
				if !ok(c) {
					continue
				}
				if best == nil {
					best = r
					continue
				}
				bt := best[1].(int64)
				better := (op[0] == '>' && rt > bt) || (op[0] == '<' && rt < bt)
				if better || (rt == bt && less(r[2], best[2])) {
					best = r
				}
			}
		}
		switch {
		case best != nil:
			out = append(out, append(append(row{}, l...), best...))
		case outer:
			out = append(out, append(append(row{}, l...), nil, nil, nil))
		}
	}
	return out
}

func asofPlan(f *fixture, left, right []row, op string, outer bool) *planner.Join {
	ls := f.table("l", intCols("k", "ts", "id"), left)
	rs := f.table("r", intCols("k", "ts", "v"), right)
	kind := planner.JoinAsOf
	if outer {
		kind = planner.JoinAsOfLeft
	}
	return &planner.Join{Kind: kind, Left: ls, Right: rs,
		LeftKeys: []planner.Expr{ci(0)}, RightKeys: []planner.Expr{ci(0)},
		Cond: call(cmpFn(op, asofFns[op]), ci(1), ci(4)),
		Out:  schemaOf(icol("k"), icol("ts"), icol("id"), icol("k"), icol("ts"), icol("v"))}
}

func TestAsOfJoinRandomized(t *testing.T) {
	seed := int64(8)
	rng := rand.New(rand.NewSource(seed))
	for iter := 0; iter < 60; iter++ {
		nl, nr := rng.Intn(40), rng.Intn(40)
		if iter%10 == 0 {
			nl = 0
		}
		if iter%10 == 1 {
			nr = 0
		}
		nullPct := []int{0, 10, 30}[iter%3]
		keys, tsMax := 1+rng.Intn(4), 1+rng.Intn(12) // small ranges: many ties
		left := make([]row, nl)
		for i := range left {
			left[i] = row{randInts(rng, 1, keys, nullPct)[0], randInts(rng, 1, tsMax, nullPct)[0], int64(i)}
		}
		right := make([]row, nr)
		for i := range right {
			right[i] = row{randInts(rng, 1, keys, nullPct)[0], randInts(rng, 1, tsMax, nullPct)[0], randInts(rng, 1, 5, nullPct)[0]}
		}
		for _, op := range []string{">=", ">", "<=", "<"} {
			for _, outer := range []bool{false, true} {
				want := sortedRows(naiveAsOf(left, right, op, outer))
				for _, bs := range batchSizes {
					f := newFixture(t, bs)
					got := sortedRows(f.mustRun(asofPlan(f, left, right, op, outer)))
					require.Equal(t, want, got, fmt.Sprintf("seed %d iter %d op %s outer %v bs %d", seed, iter, op, outer, bs))
				}
			}
		}
	}
}

func TestAsOfJoinWithoutKeys(t *testing.T) {
	f := newFixture(t, 2)
	left := []row{{int64(0), int64(5), int64(1)}, {int64(0), int64(1), int64(2)}, {nil, int64(9), int64(3)}}
	right := []row{{int64(7), int64(2), int64(20)}, {int64(8), int64(4), int64(40)}, {int64(9), int64(4), int64(41)}}
	j := asofPlan(f, left, right, ">=", true)
	j.LeftKeys, j.RightKeys = nil, nil
	got := sortedRows(f.mustRun(j))
	require.Equal(t, []string{"0|1|2|NULL|NULL|NULL", "0|5|1|8|4|40", "NULL|9|3|8|4|40"}, got)
}
