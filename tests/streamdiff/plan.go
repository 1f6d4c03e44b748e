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
}

// Plan is everything one seed runs: the schema, the views and the ordered
// steps. It is a pure function of its PlanOptions.
type Plan struct {
	Seed   uint64
	Schema *Schema
	Views  []*View
	Steps  []Step
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
}

func viewDDL(name, body string, materialized bool) string {
	if materialized {
		return fmt.Sprintf("CREATE MATERIALIZED VIEW %s AS %s", name, body)
	}
	return fmt.Sprintf("CREATE VIEW %s AS %s", name, body)
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
	p := &Plan{Seed: o.Seed, Schema: sg.NewSchema()}
	vg := newGen(o.Seed, 2)
	vg.s = p.Schema
	for _, tp := range templates {
		if o.Templates != nil && !o.Templates.MatchString(tp.name) {
			// Keep the stream aligned: a filtered run generates the same
			// SQL for the templates it keeps.
			instantiate(vg, tp, p.Views, "")
			continue
		}
		v := instantiate(vg, tp, p.Views, fmt.Sprintf("v%02d_%s", len(p.Views), tp.name))
		if v != nil {
			p.Views = append(p.Views, v)
		}
	}
	dg := newGen(o.Seed, 3)
	dg.s = p.Schema
	// Creation point of each view: -2 before data, -1 after the initial
	// load, i ≥ 0 before DML statement i; never before its dependencies.
	pos := map[string]int{}
	for _, v := range p.Views {
		at := -2
		switch x := dg.intn(10); {
		case x < 4:
			at = -2
		case x < 8:
			at = -1
		default:
			at = dg.intn(max(o.Steps, 1))
		}
		for _, d := range v.Deps {
			at = max(at, pos[d])
		}
		pos[v.Name] = at
	}
	addViews := func(at int) {
		for _, v := range p.Views {
			if pos[v.Name] != at {
				continue
			}
			st := Step{Kind: StepView, SQL: viewDDL(v.Name, v.SQL, !o.Plain), View: v}
			if v.PGSQL != "" {
				st.PG = viewDDL(v.Name, v.PGSQL, false)
			}
			p.Steps = append(p.Steps, st)
		}
	}
	for _, t := range p.Schema.Tables {
		p.Steps = append(p.Steps, Step{Kind: StepTable, SQL: t.DDL(false), PG: t.DDL(true)})
	}
	addViews(-2)
	flush := Step{Kind: StepFlush, SQL: "FLUSH"}
	p.Steps = append(p.Steps, flush)
	for _, t := range p.Schema.Tables {
		p.Steps = append(p.Steps, dg.insertStep(t, 20+dg.intn(130)))
	}
	p.Steps = append(p.Steps, flush)
	addViews(-1)
	p.Steps = append(p.Steps, flush)
	for i := 0; i < o.Steps; i++ {
		addViews(i)
		t := p.Schema.Tables[dg.intn(len(p.Schema.Tables))]
		switch x := dg.intn(10); {
		case t.AppendOnly || x < 5:
			p.Steps = append(p.Steps, dg.insertStep(t, dg.batchSize()))
		case x < 8:
			sql := dg.Update(t)
			p.Steps = append(p.Steps, Step{Kind: StepDML, SQL: sql, PG: sql})
		default:
			sql := dg.Delete(t)
			p.Steps = append(p.Steps, Step{Kind: StepDML, SQL: sql, PG: sql})
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

func (g *Gen) insertStep(t *Table, n int) Step {
	rows := make([]string, n)
	for i := range rows {
		rows[i] = g.row(t)
	}
	sql := insertSQL(t, rows)
	return Step{Kind: StepDML, SQL: sql, PG: sql, Table: t, Rows: rows}
}
