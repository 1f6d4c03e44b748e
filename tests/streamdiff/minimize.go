package streamdiff

import (
	"context"
	"strings"
)

// Minimize shrinks the steps of p up to step upto into a smaller plan on
// which view v still differs from the batch engine (no PostgreSQL
// involved): it keeps the tables and the CREATE of v and its dependencies,
// drops chunks of DML/FLUSH steps while the mismatch persists, then halves
// INSERT row lists and drops statements inside transactions. It spends at most budget engine runs and returns the
// replay script of the smallest reproducing plan, or "" when even the
// unshrunk plan does not reproduce without PostgreSQL.
func Minimize(ctx context.Context, p *Plan, v *View, upto, budget int) string {
	need := map[string]bool{}
	var addDeps func(*View)
	addDeps = func(x *View) {
		need[x.Name] = true
		for _, d := range x.Deps {
			for _, y := range p.Views {
				if y.Name == d {
					addDeps(y)
				}
			}
		}
	}
	addDeps(v)
	var fixed, vary []Step
	// fixedAt[i] is the number of varying steps before fixed step i, so the
	// relative order of views and data (backfill vs. streaming) is kept.
	var fixedAt []int
	for i, st := range p.Steps {
		if i > upto {
			break
		}
		switch {
		case st.Kind == StepTable || st.Kind == StepSet || ((st.Kind == StepView || st.Kind == StepDrop) && need[st.View.Name]):
			fixed = append(fixed, st)
			fixedAt = append(fixedAt, len(vary))
		case st.Kind == StepDML || st.Kind == StepFlush:
			vary = append(vary, st)
		}
	}
	build := func(vs []indexedStep) *Plan {
		q := &Plan{Seed: p.Seed, Schema: p.Schema, Views: p.Views, ImplicitFlush: p.ImplicitFlush}
		return withSteps(q, fixed, fixedAt, vs)
	}
	r := &Runner{}
	runs := 0
	fails := func(vs []indexedStep) bool {
		if runs >= budget {
			return false
		}
		runs++
		out, err := r.Run(ctx, build(vs))
		if err != nil {
			return false
		}
		for _, f := range out.Failures {
			if f.View.Name == v.Name && (f.Status == Mismatch || f.Status == ViewError) {
				return true
			}
		}
		return false
	}
	cur := make([]indexedStep, len(vary))
	for i, st := range vary {
		cur[i] = indexedStep{pos: i, st: st}
	}
	if !fails(cur) {
		return ""
	}
	// Chunk removal, halving the chunk size down to single steps.
	for size := len(cur) / 2; size >= 1; size /= 2 {
		for start := 0; start < len(cur); {
			end := min(start+size, len(cur))
			cand := append(append([]indexedStep(nil), cur[:start]...), cur[end:]...)
			if fails(cand) {
				cur = cand
			} else {
				start = end
			}
		}
	}
	// Shrink INSERT row lists.
	for i := range cur {
		for cur[i].st.Table != nil && len(cur[i].st.Rows) > 1 {
			rows := cur[i].st.Rows
			shrunk := false
			for _, half := range [][]string{rows[:len(rows)/2], rows[len(rows)/2:]} {
				cand := append([]indexedStep(nil), cur...)
				st := cand[i].st
				st.Rows = half
				st.SQL = insertSQL(st.Table, half)
				st.PG = st.SQL
				cand[i].st = st
				if fails(cand) {
					cur, shrunk = cand, true
					break
				}
			}
			if !shrunk {
				break
			}
		}
	}
	// Drop statements inside transactions.
	for i := range cur {
		for j := 1; j < len(cur[i].st.Txn)-1; {
			cand := append([]indexedStep(nil), cur...)
			st := cand[i].st
			st.Txn = append(append([]string(nil), st.Txn[:j]...), st.Txn[j+1:]...)
			st.SQL = strings.Join(st.Txn, "; ")
			st.PG = st.SQL
			cand[i].st = st
			if fails(cand) {
				cur = cand
			} else {
				j++
			}
		}
	}
	q := build(cur)
	return Replay(q, v, len(q.Steps)-1)
}

// indexedStep is a varying step with its position among the original
// varying steps.
type indexedStep struct {
	pos int
	st  Step
}

// withSteps interleaves the fixed steps (at their original positions
// relative to the varying ones) with the surviving varying steps, and
// ends with a FLUSH.
func withSteps(q *Plan, fixed []Step, fixedAt []int, vs []indexedStep) *Plan {
	fi := 0
	for _, s := range vs {
		for fi < len(fixed) && fixedAt[fi] <= s.pos {
			q.Steps = append(q.Steps, fixed[fi])
			fi++
		}
		q.Steps = append(q.Steps, s.st)
	}
	for ; fi < len(fixed); fi++ {
		q.Steps = append(q.Steps, fixed[fi])
	}
	q.Steps = append(q.Steps, Step{Kind: StepFlush, SQL: "FLUSH"})
	if q.ImplicitFlush {
		q.Steps[len(q.Steps)-1].SQL = ""
	}
	return q
}
