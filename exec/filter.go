package exec

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
)

// Filter keeps the rows whose condition is true.
type Filter struct {
	opBase
	input Operator
	cond  *Evaluator
}

func newFilter(env *Env, n *planner.Filter, input Operator) (*Filter, error) {
	cond, err := Compile(env, n.Cond, n.Input.Schema())
	if err != nil {
		return nil, err
	}
	f := &Filter{opBase: opBase{env: env}, input: input, cond: cond}
	f.track(cond)
	return f, nil
}

// Init initializes the input.
func (f *Filter) Init(ctx context.Context) error { f.initBase(ctx); return f.input.Init(f.ctx) }

// Next returns the next non-empty filtered batch.
func (f *Filter) Next() (arrow.RecordBatch, error) {
	for {
		if err := f.checkCtx(); err != nil {
			return nil, err
		}
		b, err := f.input.Next()
		if err != nil || b == nil {
			return nil, err
		}
		mask, err := f.cond.Eval(f.ctx, b)
		if err != nil {
			return nil, err
		}
		out, err := f.apply(b, mask)
		mask.Release()
		if err != nil {
			return nil, err
		}
		if out != nil {
			return f.emit(out), nil
		}
	}
}

// apply returns the rows of b where mask is true (nil when none).
func (f *Filter) apply(b arrow.RecordBatch, mask arrow.Array) (arrow.RecordBatch, error) {
	bm, ok := mask.(*array.Boolean)
	if !ok {
		return nil, pgerror.Internal("filter condition is %s, not boolean", mask.DataType())
	}
	out := vec.FilterBatch(f.env.alloc(), b, bm)
	if out.NumRows() == 0 {
		out.Release()
		return nil, nil
	}
	return out, nil
}

// Close closes the input.
func (f *Filter) Close() error { f.closeBase(); return f.input.Close() }
