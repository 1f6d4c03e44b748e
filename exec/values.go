package exec

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Values produces literal rows, evaluating each row's expressions once.
type Values struct {
	opBase
	node *planner.Values
	evs  [][]*Evaluator
	pos  int
}

func newValues(env *Env, n *planner.Values) (*Values, error) {
	v := &Values{opBase: opBase{env: env, schema: arrowSchema(n.Out)}, node: n}
	for _, row := range n.Rows {
		evs, err := compileAll(env, row, nil)
		if err != nil {
			return nil, err
		}
		v.evs = append(v.evs, evs)
		v.track(evs...)
	}
	return v, nil
}

// Init prepares the operator.
func (v *Values) Init(ctx context.Context) error { v.initBase(ctx); return nil }

// Next returns up to BatchSize rows.
func (v *Values) Next() (arrow.RecordBatch, error) {
	if err := v.checkCtx(); err != nil {
		return nil, err
	}
	if v.pos >= len(v.evs) {
		return nil, nil
	}
	end := min(len(v.evs), v.pos+v.env.batchSize())
	if len(v.node.Out) == 0 {
		n := end - v.pos
		v.pos = end
		return v.emit(newBatch(v.schema, nil, n)), nil
	}
	bld := array.NewRecordBuilder(v.env.alloc(), v.schema)
	defer bld.Release()
	for ; v.pos < end; v.pos++ {
		for j, ev := range v.evs[v.pos] {
			d, err := ev.evalConst(v.ctx)
			if err != nil {
				return nil, err
			}
			if ev.T != v.node.Out[j].T && d != nil {
				if d, err = castDatum(&v.env.evalCtx().Ctx, d, ev.T, v.node.Out[j].T, false); err != nil {
					return nil, err
				}
			}
			types.AppendDatum(bld.Field(j), d, v.node.Out[j].T)
		}
	}
	return v.emit(bld.NewRecordBatch()), nil
}

// Close releases the last batch.
func (v *Values) Close() error { v.closeBase(); return nil }
