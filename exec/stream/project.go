package stream

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Project computes one output column per evaluator; ops pass unchanged (an
// update whose halves project to equal rows stays an update pair).
// Watermarks pass only for input columns the projection outputs unchanged
// (see WithWatermarks), renumbered, or as monotone functions of an input
// column (see WithDerivedWatermark); others are dropped.
type Project struct {
	input  Executor
	exprs  []Evaluator
	schema *arrow.Schema
	wm     map[int]int
	// derived watermarks: a watermark on in becomes one on out through a
	// monotone function.
	derived []derivedWM
	pending []Message
}

type derivedWM struct {
	in, out int
	f       func(types.Datum) (types.Datum, error)
	last    types.Datum // last value emitted (nil: none)
}

// WithDerivedWatermark declares that output column outCol is a monotone
// non-decreasing function f of input column inCol (tumble_start(ts), ts +
// interval, date_trunc): a watermark w on inCol then also yields
// Watermark{outCol, f(w)} (after the pass-through one of WithWatermarks, if
// any). f returning NULL emits nothing; an error stops the stream.
func (p *Project) WithDerivedWatermark(inCol, outCol int, f func(types.Datum) (types.Datum, error)) *Project {
	p.derived = append(p.derived, derivedWM{in: inCol, out: outCol, f: f})
	return p
}

// WithWatermarks declares which input columns are output unchanged
// (input position → output position), so their watermarks pass on.
func (p *Project) WithWatermarks(inToOut map[int]int) *Project {
	p.wm = inToOut
	return p
}

// NewProject returns a projection of input to schema (one field per expr).
func NewProject(input Executor, exprs []Evaluator, schema *arrow.Schema) (*Project, error) {
	if schema.NumFields() != len(exprs) {
		return nil, pgerror.Internal("stream: project has %d exprs for %d fields", len(exprs), schema.NumFields())
	}
	return &Project{input: input, exprs: exprs, schema: schema}, nil
}

// Schema implements Executor.
func (p *Project) Schema() *arrow.Schema { return p.schema }

// Next implements Executor.
func (p *Project) Next(ctx context.Context) (Message, error) {
	for len(p.pending) == 0 {
		m, err := p.input.Next(ctx)
		if err != nil || m == nil {
			return m, err
		}
		c, ok := m.(*Chunk)
		if !ok {
			if w, isWM := m.(Watermark); isWM {
				if err := p.watermark(w); err != nil {
					return nil, err
				}
				continue
			}
			return m, nil
		}
		return p.project(ctx, c)
	}
	m := p.pending[0]
	p.pending[0] = nil
	p.pending = p.pending[1:]
	return m, nil
}

// watermark queues the output watermarks w yields.
func (p *Project) watermark(w Watermark) error {
	if out, mapped := p.wm[w.Col]; mapped {
		p.pending = append(p.pending, Watermark{Col: out, Value: w.Value})
	}
	for i := range p.derived {
		d := &p.derived[i]
		if d.in != w.Col {
			continue
		}
		v, err := d.f(w.Value)
		if err != nil {
			return fmt.Errorf("stream: project watermark: %w", err)
		}
		if v == nil || (d.last != nil && !datumAbove(v, d.last)) {
			continue // f is monotone: an equal value says nothing new
		}
		d.last = v
		p.pending = append(p.pending, Watermark{Col: d.out, Value: v})
	}
	return nil
}

func (p *Project) project(ctx context.Context, c *Chunk) (Message, error) {
	defer c.Release()
	cols := make([]arrow.Array, len(p.exprs))
	defer func() {
		for _, a := range cols {
			if a != nil {
				a.Release()
			}
		}
	}()
	for i, e := range p.exprs {
		a, err := e.Eval(ctx, c.Batch)
		if err != nil {
			return nil, fmt.Errorf("stream: project: %w", err)
		}
		cols[i] = a
	}
	out := array.NewRecordBatch(p.schema, cols, int64(len(c.Ops)))
	return &Chunk{Batch: out, Ops: c.Ops}, nil
}

// Close implements Executor.
func (p *Project) Close() error {
	p.pending = nil
	return p.input.Close()
}

// Filter keeps the rows whose predicate is true. When the two halves of an
// update pair are filtered differently, the surviving half becomes a plain
// Delete (old row kept) or Insert (new row kept).
type Filter struct {
	input Executor
	pred  Evaluator
	mem   memory.Allocator
}

// NewFilter returns a filter of input by pred (a boolean evaluator).
func NewFilter(input Executor, pred Evaluator) *Filter {
	return &Filter{input: input, pred: pred, mem: memory.DefaultAllocator}
}

// WithAllocator makes the filter allocate its output with mem (before use).
func (f *Filter) WithAllocator(mem memory.Allocator) *Filter {
	f.mem = mem
	return f
}

// Schema implements Executor.
func (f *Filter) Schema() *arrow.Schema { return f.input.Schema() }

// Next implements Executor.
func (f *Filter) Next(ctx context.Context) (Message, error) {
	for {
		m, err := f.input.Next(ctx)
		if err != nil || m == nil {
			return m, err
		}
		c, ok := m.(*Chunk)
		if !ok {
			return m, nil
		}
		out, err := f.filter(ctx, c)
		if err != nil {
			return nil, err
		}
		if out != nil {
			return out, nil
		}
	}
}

// filter consumes c and returns the surviving rows, or nil if none.
func (f *Filter) filter(ctx context.Context, c *Chunk) (*Chunk, error) {
	pa, err := f.pred.Eval(ctx, c.Batch)
	if err != nil {
		c.Release()
		return nil, fmt.Errorf("stream: filter: %w", err)
	}
	defer pa.Release()
	mask, ok := pa.(*array.Boolean)
	if !ok {
		c.Release()
		return nil, pgerror.Internal("stream: filter predicate returned %s, not boolean", pa.DataType())
	}
	keep := func(i int) bool { return mask.IsValid(i) && mask.Value(i) }
	n := len(c.Ops)
	idx := make([]int32, 0, n)
	ops := make([]Op, 0, n)
	for i := 0; i < n; i++ {
		op := c.Ops[i]
		if op == UpdateDelete && i+1 < n && c.Ops[i+1] == UpdateInsert {
			k0, k1 := keep(i), keep(i+1)
			switch {
			case k0 && k1:
				idx = append(idx, int32(i), int32(i+1))
				ops = append(ops, UpdateDelete, UpdateInsert)
			case k0:
				idx = append(idx, int32(i))
				ops = append(ops, Delete)
			case k1:
				idx = append(idx, int32(i+1))
				ops = append(ops, Insert)
			}
			i++
			continue
		}
		if keep(i) {
			// A lone update half (malformed input) degrades to its sign.
			switch op {
			case UpdateDelete:
				op = Delete
			case UpdateInsert:
				op = Insert
			}
			idx = append(idx, int32(i))
			ops = append(ops, op)
		}
	}
	switch {
	case len(idx) == 0:
		c.Release()
		return nil, nil
	case len(idx) == n:
		c.Ops = ops
		return c, nil
	}
	out := vec.TakeBatch(f.mem, c.Batch, idx)
	c.Release()
	return &Chunk{Batch: out, Ops: ops}, nil
}

// Close implements Executor.
func (f *Filter) Close() error { return f.input.Close() }

// datumAbove reports a > b for watermark values of one type (timestamps,
// dates, integers); values it cannot order count as above.
func datumAbove(a, b types.Datum) bool {
	switch x := a.(type) {
	case types.Timestamp:
		y, ok := b.(types.Timestamp)
		return !ok || x > y
	case types.TimestampTZ:
		y, ok := b.(types.TimestampTZ)
		return !ok || x > y
	case types.Date:
		y, ok := b.(types.Date)
		return !ok || x > y
	case int64:
		y, ok := b.(int64)
		return !ok || x > y
	}
	return true
}
