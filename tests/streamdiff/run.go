package streamdiff

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sabotsql/sabotsql/engine"
	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// Status is the outcome of one view over a run.
type Status uint8

// View outcomes, worst last.
const (
	Passed      Status = iota // every comparison agreed
	Unsupported               // CREATE refused with 0A000
	CreateError               // CREATE failed otherwise
	Mismatch                  // a comparison differed
	DepFailed                 // not created: a view it reads failed
	ViewError                 // reading the view failed (its dataflow stopped)
)

func (s Status) String() string {
	return [...]string{"pass", "unsupported", "create-error", "MISMATCH", "dep-failed", "VIEW-ERROR"}[s]
}

// Failure describes the first failure of one view.
type Failure struct {
	View   *View
	Status Status
	// Oracle is "batch" or "postgres" for a mismatch.
	Oracle string
	// Detail is the error or the row diff.
	Detail string
	// Step is the index of the plan step where it failed.
	Step int
}

// Outcome is what one plan's run found.
type Outcome struct {
	// Checks counts view comparisons that agreed.
	Checks int
	// Status of every view of the plan, by name.
	Status   map[string]Status
	Failures []Failure
	// Rows is each view's row count at its last comparison.
	Rows map[string]int
}

// Runner executes plans against a fresh embedded engine and, optionally, a
// PostgreSQL database holding the same tables and plain views.
type Runner struct {
	// PG is a connection to an empty database, nil to skip PostgreSQL.
	PG *pgconn.PgConn
	// Logf, when set, receives progress lines.
	Logf func(format string, args ...any)
}

// Run executes every step of p. Failing DML or table DDL is a harness
// error (returned); view failures are recorded in the Outcome.
func (r *Runner) Run(ctx context.Context, p *Plan) (*Outcome, error) {
	eng, err := engine.Open(ctx, engine.Options{})
	if err != nil {
		return nil, fmt.Errorf("open engine: %w", err)
	}
	defer eng.Close()
	// Writes and reads go through different sessions: a flushed change
	// must be visible to every session.
	w, err := eng.Session(engine.DefaultUser, "sabot", nil)
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	defer w.Close()
	rd, err := eng.Session(engine.DefaultUser, "sabot", nil)
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	defer rd.Close()

	if r.Logf != nil {
		r.Logf("seed %d: start (%d steps, %d views)", p.Seed, len(p.Steps), len(p.Views))
	}
	out := &Outcome{Status: map[string]Status{}, Rows: map[string]int{}}
	live := []*View{}
	failed := map[string]bool{}
	fail := func(f Failure) {
		failed[f.View.Name] = true
		out.Status[f.View.Name] = f.Status
		out.Failures = append(out.Failures, f)
	}
	var tm timings
	for i, st := range p.Steps {
		start := time.Now()
		switch st.Kind {
		case StepSet:
			if res := runOurs(ctx, w, st.SQL); res.Code != "" {
				return out, fmt.Errorf("seed %d step %d: %s: %w", p.Seed, i, st.SQL, resultErr(res))
			}
		case StepTable, StepDML:
			if res := runOurs(ctx, w, st.SQL); res.Code != "" {
				return out, fmt.Errorf("seed %d step %d: engine: %s: %w", p.Seed, i, abbrev(st.SQL), resultErr(res))
			}
			if r.PG != nil && st.PG != "" {
				if res := runPG(ctx, r.PG, st.PG); res.Code != "" {
					return out, fmt.Errorf("seed %d step %d: postgres: %s: %w", p.Seed, i, abbrev(st.PG), resultErr(res))
				}
			}
		case StepDrop:
			v := st.View
			if failed[v.Name] {
				continue
			}
			if res := runOurs(ctx, w, st.SQL); res.Code != "" {
				fail(Failure{View: v, Status: CreateError, Detail: "DROP: " + res.Code + " " + res.Msg, Step: i})
				continue
			}
			if r.PG != nil && st.PG != "" {
				if res := runPG(ctx, r.PG, st.PG); res.Code != "" {
					return out, fmt.Errorf("seed %d step %d: postgres: %s: %w", p.Seed, i, st.PG, resultErr(res))
				}
			}
			for k, x := range live {
				if x == v {
					live = append(live[:k:k], live[k+1:]...)
					break
				}
			}
		case StepView:
			v := st.View
			if failed[v.Name] {
				continue // a re-creation after a failure
			}
			dead := false
			for _, d := range v.Deps {
				dead = dead || failed[d]
			}
			if dead {
				// Reported under its dependency.
				failed[v.Name] = true
				out.Status[v.Name] = DepFailed
				continue
			}
			if r.PG != nil && st.PG != "" {
				if res := runPG(ctx, r.PG, st.PG); res.Code != "" {
					return out, fmt.Errorf("seed %d: postgres refuses generated view %s: %w\n%s", p.Seed, v.Name, resultErr(res), st.PG)
				}
			}
			res := runOurs(ctx, w, st.SQL)
			switch {
			case res.Code == pgerror.FeatureNotSupported:
				fail(Failure{View: v, Status: Unsupported, Detail: res.Msg, Step: i})
			case res.Code != "":
				fail(Failure{View: v, Status: CreateError, Detail: res.Code + " " + res.Msg, Step: i})
			default:
				out.Status[v.Name] = Passed
				live = append(live, v)
			}
		case StepFlush:
			if st.SQL == "" {
				// implicit_flush: the last statement already waited.
			} else if res := runOurs(ctx, w, st.SQL); res.Code != "" {
				return out, fmt.Errorf("seed %d step %d: FLUSH: %w", p.Seed, i, resultErr(res))
			}
			tm.flush += time.Since(start)
			start = time.Now()
			for _, v := range live {
				if failed[v.Name] {
					continue
				}
				if f := r.check(ctx, rd, v, out); f != nil {
					f.Step = i
					fail(*f)
				} else {
					out.Checks++
				}
			}
			tm.check += time.Since(start)
			continue
		}
		tm.other += time.Since(start)
	}
	if r.Logf != nil {
		r.Logf("seed %d: %d steps, %d views, %d checks passed, %d failures (time: flush %v, checks %v, other %v)",
			p.Seed, len(p.Steps), len(p.Views), out.Checks, len(out.Failures), tm.flush.Round(time.Millisecond), tm.check.Round(time.Millisecond), tm.other.Round(time.Millisecond))
		big := ""
		for _, v := range p.Views {
			if n := out.Rows[v.Name]; n >= 5000 {
				big += fmt.Sprintf(" %s=%d", v.Name, n)
			}
		}
		if big != "" {
			r.Logf("seed %d: views with ≥ 5000 rows:%s", p.Seed, big)
		}
	}
	return out, nil
}

// timings splits a run's wall time (for -streamdiff.v).
type timings struct{ flush, check, other time.Duration }

// check compares view v with the batch engine and PostgreSQL.
func (r *Runner) check(ctx context.Context, rd *engine.Session, v *View, out *Outcome) *Failure {
	got := runOurs(ctx, rd, "SELECT * FROM "+v.Name)
	out.Rows[v.Name] = len(got.Rows)
	want := runOurs(ctx, rd, v.BatchSQL)
	if got.Code != "" && want.Code == "" {
		return &Failure{View: v, Status: ViewError, Oracle: "batch", Detail: "reading the view: " + describe(got) + "\n"}
	}
	if d := Diff("batch", want, "view", got, 12); d != "" {
		return &Failure{View: v, Status: Mismatch, Oracle: "batch", Detail: d}
	}
	if r.PG == nil || v.PGSQL == "" {
		return nil
	}
	pg := runPG(ctx, r.PG, "SELECT * FROM "+v.Name)
	if d := Diff("postgres", pg, "view", got, 12); d != "" {
		return &Failure{View: v, Status: Mismatch, Oracle: "postgres", Detail: d}
	}
	return nil
}

func abbrev(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// Replay renders the engine statements of p up to step upto (inclusive)
// that matter to view v (its tables' statements, its own and its
// dependencies' CREATE, every FLUSH), followed by the two queries to
// compare: a self-contained script reproducing a failure.
func Replay(p *Plan, v *View, upto int) string {
	need := map[string]bool{v.Name: true}
	var addDeps func(*View)
	addDeps = func(x *View) {
		for _, d := range x.Deps {
			need[d] = true
			for _, y := range p.Views {
				if y.Name == d {
					addDeps(y)
				}
			}
		}
	}
	addDeps(v)
	var b strings.Builder
	for i, st := range p.Steps {
		if i > upto {
			break
		}
		if (st.Kind == StepView || st.Kind == StepDrop) && !need[st.View.Name] {
			continue
		}
		if st.SQL == "" {
			b.WriteString("-- (compare here: implicit_flush)\n")
			continue
		}
		b.WriteString(st.SQL + ";\n")
	}
	fmt.Fprintf(&b, "SELECT * FROM %s;\n-- must equal:\n%s;\n", v.Name, v.BatchSQL)
	return b.String()
}
