package streamdiff

import (
	"fmt"
	"regexp"
	"strings"
)

// StepKind classifies a step of a plan.
type StepKind uint8

// Step kinds.
const (
	StepTable StepKind = iota // CREATE TABLE
	StepView                  // CREATE [MATERIALIZED] VIEW
	StepDML                   // INSERT, UPDATE or DELETE
	StepFlush                 // FLUSH, then compare every live view
	StepSet                   // a session setting of the engine's writer
	StepDrop                  // DROP [MATERIALIZED] VIEW (re-created later)
)

// Step is one statement of a plan.
type Step struct {
	Kind StepKind
	// SQL is the statement for the engine.
	SQL string
	// PG is the statement for PostgreSQL, "" when it gets none.
	PG string
	// View is the view a StepView creates.
	View *View
	// Table and Rows describe an INSERT (so a minimizer can drop rows).
	Table *Table
	Rows  []string
	// Txn holds the statements of an explicit transaction, BEGIN and
	// COMMIT/ROLLBACK included (so a minimizer can drop statements).
	Txn []string
}

// Plan is everything one seed runs: the schema, the views and the ordered
// steps. It is a pure function of its PlanOptions.
type Plan struct {
	Seed uint64
	// ImplicitFlush plans run with SET implicit_flush = on and compare at
	// the same points without issuing FLUSH (every third seed).
	ImplicitFlush bool
	Schema        *Schema
	Views         []*View
	Steps         []Step
}

// PlanOptions select what a plan contains.
type PlanOptions struct {
	Seed uint64
	// Steps is the number of DML statements after the initial load.
	Steps int
	// Plain creates ordinary views instead of materialized views (to
	// exercise the harness itself while the engine lacks streaming views).
	Plain bool
	// Templates, when non-nil, keeps only templates whose name matches.
	Templates *regexp.Regexp
	// Exclusions hide engine bugs already reported.
	Exclusions Exclusions
}

// Exclusions switch off plan features that trigger engine bugs already
// reported, each naming its bug, so the CI run states what it covers. The
// zero value excludes nothing (-streamdiff.all).
type Exclusions struct {
	// NoRollbackUnderImplicitFlush makes transactions of implicit_flush
	// seeds always COMMIT (kept for bisecting: ROLLBACKed changes reached
	// the views until 9b27e5c, testdata/regress/rollback_implicit_flush.sql).
	NoRollbackUnderImplicitFlush bool
	// ExplicitCastJoinKey writes join_expr_key's int8 = int4 key with an
	// explicit ::int8 cast: with the implicit coercion the join is ~100x
	// slower to maintain (testdata/repro/slow_implicit_cast_join_key.sql),
	// too slow for the CI time budget.
	ExplicitCastJoinKey bool
}

// DefaultExclusions is what the CI run uses.
func DefaultExclusions() Exclusions { return Exclusions{} }

func viewDDL(name, body string, materialized bool) string {
	if materialized {
		return fmt.Sprintf("CREATE MATERIALIZED VIEW %s AS %s", name, body)
	}
	return fmt.Sprintf("CREATE VIEW %s AS %s", name, body)
}

func dropDDL(name string, materialized bool) string {
	if materialized {
		return "DROP MATERIALIZED VIEW " + name
	}
	return "DROP VIEW " + name
}

func insertSQL(t *Table, rows []string) string {
	return fmt.Sprintf("INSERT INTO %s VALUES %s", t.Name, strings.Join(rows, ", "))
}

// NewPlan generates the plan of o.Seed: tables; some views before any
// data; an initial load and FLUSH; more views (backfilled); then o.Steps
// random DML statements with a FLUSH after random ones, views created at
// random points in between, and a final FLUSH.
func NewPlan(o PlanOptions) *Plan {
	sg := newGen(o.Seed, 1)
	p := &Plan{Seed: o.Seed, Schema: sg.NewSchema(), ImplicitFlush: o.Seed%3 == 0}
	vg := newGen(o.Seed, 2)
	vg.s = p.Schema
	vg.excl = o.Exclusions
	// Creation point of each view: -2 before data, -1 after the initial
	// load, i ≥ 0 before DML statement i; never before its dependencies.
	// Drawn for every template, kept or not, so a template filter changes
	// neither the views kept nor the DML stream.
	posg := newGen(o.Seed, 4)
	pos := map[string]int{}
	for ti, tp := range templates {
		at := -2
		switch x := posg.intn(10); {
		case x < 4:
			at = -2
		case x < 8:
			at = -1
		default:
			at = posg.intn(max(o.Steps, 1))
		}
		if o.Templates != nil && !o.Templates.MatchString(tp.name) {
			instantiate(vg, tp, p.Views, "")
			continue
		}
		v := instantiate(vg, tp, p.Views, fmt.Sprintf("v%02d_%s", ti, tp.name))
		if v == nil {
			continue
		}
		for _, d := range v.Deps {
			at = max(at, pos[d])
		}
		pos[v.Name] = at
		p.Views = append(p.Views, v)
	}
	dg := newGen(o.Seed, 3)
	dg.s = p.Schema
	create := func(v *View) {
		st := Step{Kind: StepView, SQL: viewDDL(v.Name, v.SQL, !o.Plain), View: v}
		if v.PGSQL != "" {
			st.PG = viewDDL(v.Name, v.PGSQL, false)
		}
		p.Steps = append(p.Steps, st)
	}
	addViews := func(at int) {
		for _, v := range p.Views {
			if pos[v.Name] == at {
				create(v)
			}
		}
	}
	// One view without dependents is dropped before DML statement dropAt
	// and re-created three statements later (its state must start afresh).
	dropg := newGen(o.Seed, 5)
	dropAt, dropped := -1, (*View)(nil)
	if o.Steps > 4 {
		dropAt = dropg.intn(o.Steps - 4)
		hasDependent := map[string]bool{}
		for _, v := range p.Views {
			for _, d := range v.Deps {
				hasDependent[d] = true
			}
		}
		var cands []*View
		for _, v := range p.Views {
			if pos[v.Name] < dropAt && !hasDependent[v.Name] {
				cands = append(cands, v)
			}
		}
		if len(cands) > 0 {
			dropped = cands[dropg.intn(len(cands))]
		}
	}
	flush := Step{Kind: StepFlush, SQL: "FLUSH"}
	if p.ImplicitFlush {
		p.Steps = append(p.Steps, Step{Kind: StepSet, SQL: "SET implicit_flush = on"})
		flush.SQL = ""
	}
	for _, t := range p.Schema.Tables {
		p.Steps = append(p.Steps, Step{Kind: StepTable, SQL: t.DDL(false), PG: t.DDL(true)})
	}
	addViews(-2)
	p.Steps = append(p.Steps, flush)
	for _, t := range p.Schema.Tables {
		p.Steps = append(p.Steps, dg.insertStep(t, 10+dg.intn(100)))
	}
	p.Steps = append(p.Steps, flush)
	addViews(-1)
	p.Steps = append(p.Steps, flush)
	for i := 0; i < o.Steps; i++ {
		addViews(i)
		if dropped != nil && i == dropAt {
			st := Step{Kind: StepDrop, SQL: dropDDL(dropped.Name, !o.Plain), View: dropped}
			if dropped.PGSQL != "" {
				st.PG = dropDDL(dropped.Name, false)
			}
			p.Steps = append(p.Steps, st)
		}
		if dropped != nil && i == dropAt+3 {
			create(dropped)
		}
		if dg.chance(0.1) {
			p.Steps = append(p.Steps, dg.txnStep(!(p.ImplicitFlush && o.Exclusions.NoRollbackUnderImplicitFlush)))
		} else {
			p.Steps = append(p.Steps, dg.dmlStep())
		}
		if dg.chance(0.35) {
			p.Steps = append(p.Steps, flush)
		}
	}
	if p.Steps[len(p.Steps)-1].Kind != StepFlush {
		p.Steps = append(p.Steps, flush)
	}
	return p
}

// dmlStep is one random INSERT, UPDATE or DELETE (rarely of every row).
func (g *Gen) dmlStep() Step {
	t := g.s.Tables[g.intn(len(g.s.Tables))]
	var sql string
	switch x := g.intn(100); {
	case t.AppendOnly || x < 50:
		return g.insertStep(t, g.batchSize())
	case x < 80:
		sql = g.Update(t)
	case x < 97:
		sql = g.Delete(t)
	default:
		sql = "DELETE FROM " + t.Name
	}
	return Step{Kind: StepDML, SQL: sql, PG: sql}
}

// txnStep is an explicit transaction of 2–3 DML statements that commits or
// (one time in three, if allowed) rolls back: rolled-back changes must
// never reach a view.
func (g *Gen) txnStep(rollback bool) Step {
	stmts := []string{"BEGIN"}
	for n := 2 + g.intn(2); n > 0; n-- {
		stmts = append(stmts, g.dmlStep().SQL)
	}
	end := "COMMIT"
	if g.intn(3) == 0 && rollback {
		end = "ROLLBACK"
	}
	stmts = append(stmts, end)
	sql := strings.Join(stmts, "; ")
	return Step{Kind: StepDML, SQL: sql, PG: sql, Txn: stmts}
}

func (g *Gen) insertStep(t *Table, n int) Step {
	rows := make([]string, n)
	for i := range rows {
		rows[i] = g.row(t)
	}
	sql := insertSQL(t, rows)
	return Step{Kind: StepDML, SQL: sql, PG: sql, Table: t, Rows: rows}
}
