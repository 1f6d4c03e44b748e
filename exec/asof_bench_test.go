package exec

import (
	"testing"

	"github.com/sabotsql/sabotsql/sql/planner"
)

// BenchmarkAsOfJoin: 1M left rows (trades) against 1M right rows (quotes)
// over 1000 keys, ASOF ... ON l.k = r.k AND l.ts >= r.ts; rows/s counts
// left rows.
func BenchmarkAsOfJoin(b *testing.B) {
	const n = 1_000_000
	bt := benchTables{"l": genInt64Batches(n, 1000, 1<<30), "r": genInt64Batches(n, 1000, 1<<30)}
	plan := &planner.Join{Kind: planner.JoinAsOfLeft, Left: benchScan(bt, "l", 2), Right: benchScan(bt, "r", 2),
		LeftKeys: []planner.Expr{ci(0)}, RightKeys: []planner.Expr{ci(0)},
		Cond: call(cmpFn(">=", asofFns[">="]), ci(1), ci(3)),
		Out:  schemaOf(icol("a"), icol("b"), icol("c"), icol("d"))}
	runBench(b, &Env{Tables: bt}, plan, n)
}
