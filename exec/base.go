package exec

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// opBase carries the boilerplate every operator shares: the context from
// Init, the batch last returned (released on the next call), and the bytes
// reserved in the statement's memory account (released on Close).
type opBase struct {
	env    *Env
	ctx    context.Context
	schema *arrow.Schema
	last   arrow.RecordBatch
	mem    int64
	closed bool
	evals  []*Evaluator
}

// track registers evaluators whose cached state is released on Close.
func (b *opBase) track(evs ...*Evaluator) {
	for _, e := range evs {
		if e != nil && len(e.subs) > 0 {
			b.evals = append(b.evals, e)
		}
	}
}

func (b *opBase) initBase(ctx context.Context) {
	if ctx == nil {
		ctx = context.Background()
	}
	b.ctx = ctx
}

// emit records rb as the batch handed out (it is released on the next call).
func (b *opBase) emit(rb arrow.RecordBatch) arrow.RecordBatch {
	b.dropLast()
	b.last = rb
	return rb
}

func (b *opBase) dropLast() {
	if b.last != nil {
		b.last.Release()
		b.last = nil
	}
}

// checkCtx returns a 57014 error once the statement is cancelled.
func (b *opBase) checkCtx() error {
	if b.ctx == nil {
		return nil
	}
	if err := b.ctx.Err(); err != nil {
		return cancelErr(err)
	}
	return nil
}

func cancelErr(err error) error {
	return pgerror.Wrap(err, pgerror.QueryCanceled, "canceling statement due to user request")
}

// grow reserves n bytes in the statement's account.
func (b *opBase) grow(n int64) error {
	if n <= 0 {
		return nil
	}
	if err := b.env.Mem.Grow(n); err != nil {
		return err
	}
	b.mem += n
	return nil
}

// shrink returns n reserved bytes.
func (b *opBase) shrink(n int64) {
	n = min(n, b.mem)
	b.env.Mem.Shrink(n)
	b.mem -= n
}

// shrinkAll returns every reserved byte.
func (b *opBase) shrinkAll() {
	b.env.Mem.Shrink(b.mem)
	b.mem = 0
}

func (b *opBase) closeBase() {
	for _, e := range b.evals {
		e.release()
	}
	b.dropLast()
	b.shrinkAll()
	b.closed = true
}

// arrowSchema converts a plan schema to an Arrow schema.
func arrowSchema(s planner.Schema) *arrow.Schema {
	fs := make([]arrow.Field, len(s))
	for i, c := range s {
		fs[i] = types.ArrowField(c.Name, c.T)
	}
	return arrow.NewSchema(fs, nil)
}

// batchBytes estimates the memory a batch holds.
func batchBytes(b arrow.RecordBatch) int64 {
	var n int64
	for _, c := range b.Columns() {
		n += arrayBytes(c)
	}
	return n
}

// compileAll compiles expressions over one input schema.
func compileAll(env *Env, es []planner.Expr, in planner.Schema) ([]*Evaluator, error) {
	out := make([]*Evaluator, len(es))
	for i, e := range es {
		ev, err := Compile(env, e, in)
		if err != nil {
			return nil, err
		}
		out[i] = ev
	}
	return out, nil
}

// evalList evaluates evaluators over b.
func evalList(ctx context.Context, evs []*Evaluator, b arrow.RecordBatch) ([]arrow.Array, error) {
	out := make([]arrow.Array, len(evs))
	for i, ev := range evs {
		a, err := ev.Eval(ctx, b)
		if err != nil {
			releaseAll(out[:i])
			return nil, err
		}
		out[i] = a
	}
	return out, nil
}

// constInt evaluates a constant integer expression (LIMIT/OFFSET, frame
// offsets, table function arguments).
func constDatum(ctx context.Context, env *Env, e planner.Expr) (types.Datum, error) {
	ev, err := Compile(env, e, nil)
	if err != nil {
		return nil, err
	}
	return ev.evalConst(ctx)
}

// conform returns a as SQL type to: unchanged when the Arrow layouts agree,
// else converted value by value with an assignment cast (it takes ownership
// of a).
func conform(env *Env, a arrow.Array, from, to types.T) (arrow.Array, error) {
	if arrow.TypeEqual(a.DataType(), types.ArrowType(to)) {
		return a, nil
	}
	defer a.Release()
	bld := array.NewBuilder(env.alloc(), types.ArrowType(to))
	defer bld.Release()
	c := &env.evalCtx().Ctx
	for i := 0; i < a.Len(); i++ {
		d, err := castDatum(c, types.GetDatum(a, i, from), from, to, false)
		if err != nil {
			return nil, err
		}
		types.AppendDatum(bld, d, to)
	}
	return bld.NewArray(), nil
}
