package streamdiff

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDiffMultiset(t *testing.T) {
	r := func(oids []uint32, rows ...[]string) Result { return Result{OIDs: oids, Rows: rows} }
	ints := []uint32{23, 25}
	a := r(ints, []string{"1", "x"}, []string{"1", "x"}, []string{"2", Null})
	require.Empty(t, Diff("a", a, "b", r(ints, []string{"2", Null}, []string{"1", "x"}, []string{"1", "x"}), 5), "order does not matter")
	d := Diff("a", a, "b", r(ints, []string{"1", "x"}, []string{"2", Null}), 5)
	require.Contains(t, d, "only in a (1)", "a duplicate counts")
	require.Contains(t, d, "1 | x")
	require.Contains(t, Diff("a", a, "b", r([]uint32{20, 25}, []string{"1", "x"}), 5), "type")
	require.Contains(t, Diff("a", a, "b", Result{Code: "0A000", Msg: "no"}, 5), "0A000")
	require.Empty(t, Diff("a", Result{Code: "22012"}, "b", Result{Code: "22012"}, 5))
	require.NotEmpty(t, Diff("a", r(ints, []string{"1", "'NULL'"}), "b", r(ints, []string{"1", Null}), 5), "text 'NULL' is not NULL")
}

func TestDiffFloatRounding(t *testing.T) {
	f := []uint32{701}
	one := func(c string) Result { return Result{OIDs: f, Rows: [][]string{{c}}} }
	require.Empty(t, Diff("a", one("0.30000000000000004"), "b", one("0.3"), 5))
	require.Empty(t, Diff("a", one("-0"), "b", one("0"), 5))
	require.Empty(t, Diff("a", one("12345.678901234"), "b", one("12345.678901237"), 5))
	require.NotEmpty(t, Diff("a", one("12345.6789"), "b", one("12345.6788"), 5))
	// Straddling a rounding boundary of the 10th digit still agrees.
	require.Empty(t, Diff("a", one("113.24609374999999"), "b", one("113.24609375000001"), 5))
	require.NotEmpty(t, Diff("a", one("113.24609"), "b", one("113.24610"), 5))
	require.NotEmpty(t, Diff("a", one("1"), "b", one(Null), 5))
	// Numeric cells are exact.
	n := []uint32{1700}
	require.NotEmpty(t, Diff("a", Result{OIDs: n, Rows: [][]string{{"0.30000000000000004"}}}, "b", Result{OIDs: n, Rows: [][]string{{"0.3"}}}, 5))
}

func TestPlanDeterministic(t *testing.T) {
	o := PlanOptions{Seed: 7, Steps: 30}
	p1, p2 := NewPlan(o), NewPlan(o)
	require.Equal(t, len(p1.Steps), len(p2.Steps))
	for i := range p1.Steps {
		require.Equal(t, p1.Steps[i].SQL, p2.Steps[i].SQL)
	}
	// A template filter keeps the SQL of the templates it keeps.
	o.Templates = regexp.MustCompile("^join_full$")
	p3 := NewPlan(o)
	require.Len(t, p3.Views, 1)
	for _, v := range p1.Views {
		if v.Template == "join_full" {
			require.Equal(t, v.SQL, p3.Views[0].SQL)
			require.Equal(t, v.Name, p3.Views[0].Name)
		}
	}
	// … and the same data changes.
	dml := func(p *Plan) (out []string) {
		for _, st := range p.Steps {
			if st.Kind != StepView && st.Kind != StepDrop {
				out = append(out, st.SQL)
			}
		}
		return out
	}
	require.Equal(t, dml(p1), dml(p3))
}

func TestPlanInvariants(t *testing.T) {
	seen := map[string]bool{}
	totalTxns, totalChanges, implicit := 0, 0, false
	for seed := uint64(1); seed <= 20; seed++ {
		p := NewPlan(PlanOptions{Seed: seed, Steps: 40})
		require.Equal(t, StepFlush, p.Steps[len(p.Steps)-1].Kind, "a plan ends with FLUSH")
		created := map[string]bool{}
		appendOnly := map[string]bool{}
		for _, tb := range p.Schema.Tables {
			appendOnly[tb.Name] = tb.AppendOnly
		}
		require.True(t, p.Schema.Tables[0].AppendOnly)
		inserts, updates, deletes, txns, mid := 0, 0, 0, 0, false
		dataSeen := false
		for _, st := range p.Steps {
			switch st.Kind {
			case StepView:
				for _, d := range st.View.Deps {
					require.True(t, created[d], "seed %d: %s created before its dependency %s", seed, st.View.Name, d)
				}
				created[st.View.Name] = true
				seen[st.View.Template] = true
				mid = mid || dataSeen
				require.True(t, strings.HasPrefix(st.SQL, "CREATE MATERIALIZED VIEW "))
			case StepDML:
				dataSeen = true
				if st.Rows != nil {
					require.Equal(t, len(st.Rows), strings.Count(st.SQL, "), (")+1)
				}
				for _, stmt := range strings.Split(st.SQL, "; ") {
					f := strings.Fields(stmt)
					switch f[0] {
					case "INSERT":
						inserts++
					case "UPDATE":
						updates++
						require.False(t, appendOnly[f[1]], "seed %d: %s", seed, st.SQL)
					case "DELETE":
						deletes++
						require.False(t, appendOnly[f[2]], "seed %d: %s", seed, st.SQL)
					case "BEGIN", "COMMIT", "ROLLBACK":
						txns++
					default:
						t.Fatalf("seed %d: unexpected statement %s", seed, stmt)
					}
				}
			}
		}
		require.Positive(t, inserts)
		require.True(t, mid, "seed %d: some view is created after data (backfill)", seed)
		totalChanges += updates + deletes
		totalTxns += txns
		implicit = implicit || p.ImplicitFlush
	}
	require.Positive(t, totalTxns, "some plan has a transaction")
	require.Greater(t, totalChanges, 100, "plans update and delete")
	require.True(t, implicit, "some plan runs with implicit_flush")
	for _, name := range TemplateNames() {
		require.True(t, seen[name], "template %s never instantiated", name)
	}
}

// TestRunnerCatchesAndMinimizes plants a wrong oracle (the batch query
// misses id 7) and checks the runner reports it and the minimizer shrinks
// the replay to the one row that matters.
func TestRunnerCatchesAndMinimizes(t *testing.T) {
	ctx := context.Background()
	p := NewPlan(PlanOptions{Seed: 3, Steps: 20, Plain: true, Templates: regexp.MustCompile("^project_filter$")})
	require.Len(t, p.Views, 1)
	v := p.Views[0]
	tbl := p.Schema.Tables[0].Name // append-only: id 7 is never deleted
	v.SQL = "SELECT id FROM " + tbl
	v.BatchSQL = "SELECT id FROM " + tbl + " WHERE id <> 7"
	for i := range p.Steps {
		if p.Steps[i].View == v {
			p.Steps[i].SQL = viewDDL(v.Name, v.SQL, false)
		}
	}
	out, err := (&Runner{}).Run(ctx, p)
	require.NoError(t, err)
	require.Len(t, out.Failures, 1)
	f := out.Failures[0]
	require.Equal(t, Mismatch, f.Status)
	require.Equal(t, "batch", f.Oracle)
	require.Contains(t, f.Detail, "only in view (1)")

	m := Minimize(ctx, p, v, f.Step, 200)
	require.NotEmpty(t, m)
	require.Equal(t, 1, strings.Count(m, "INSERT INTO"), m)
	require.Contains(t, m, "VALUES (7,", m)
	require.NotContains(t, m, "), (", "one row left")
}
