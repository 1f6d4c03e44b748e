package exec

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Project computes one output column per expression.
type Project struct {
	opBase
	input Operator
	exprs []*Evaluator
}

func newProject(env *Env, n *planner.Project, input Operator) (*Project, error) {
	exprs := make([]planner.Expr, len(n.Exprs))
	for i, e := range n.Exprs {
		exprs[i] = e
		if i < len(n.Out) && !arrow.TypeEqual(types.ArrowType(e.Type()), types.ArrowType(n.Out[i].T)) {
			exprs[i] = &planner.Cast{E: e, To: n.Out[i].T}
		}
	}
	if len(n.Out) != len(n.Exprs) {
		return nil, pgerror.Internal("project has %d expressions for %d columns", len(n.Exprs), len(n.Out))
	}
	evs, err := compileAll(env, exprs, n.Input.Schema())
	if err != nil {
		return nil, err
	}
	p := &Project{opBase: opBase{env: env, schema: arrowSchema(n.Out)}, input: input, exprs: evs}
	p.track(evs...)
	return p, nil
}

// Init initializes the input.
func (p *Project) Init(ctx context.Context) error { p.initBase(ctx); return p.input.Init(p.ctx) }

// Next projects the next input batch.
func (p *Project) Next() (arrow.RecordBatch, error) {
	if err := p.checkCtx(); err != nil {
		return nil, err
	}
	b, err := p.input.Next()
	if err != nil || b == nil {
		return nil, err
	}
	cols, err := evalList(p.ctx, p.exprs, b)
	if err != nil {
		return nil, err
	}
	return p.emit(newBatch(p.schema, cols, int(b.NumRows()))), nil
}

// Close closes the input.
func (p *Project) Close() error { p.closeBase(); return p.input.Close() }
