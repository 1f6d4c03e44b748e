package exec

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/planner"
)

// Distinct passes the first row of each group of equal rows (all columns,
// or the DISTINCT ON expressions), in input order. NULLs are equal.
type Distinct struct {
	opBase
	input Operator
	on    []*Evaluator
	seen  map[string]struct{}
	enc   vec.KeyEncoder
	sel   []int32
}

func newDistinct(env *Env, n *planner.Distinct, input Operator) (*Distinct, error) {
	d := &Distinct{opBase: opBase{env: env}, input: input, seen: map[string]struct{}{}}
	if len(n.On) > 0 {
		evs, err := compileAll(env, n.On, n.Input.Schema())
		if err != nil {
			return nil, err
		}
		d.on = evs
		d.track(evs...)
		for _, e := range n.On {
			d.enc.Types = append(d.enc.Types, e.Type())
		}
	} else {
		d.enc.Types = n.Input.Schema().Types()
	}
	return d, nil
}

// Init initializes the input.
func (d *Distinct) Init(ctx context.Context) error { d.initBase(ctx); return d.input.Init(d.ctx) }

// Next returns the next batch of first-seen rows.
func (d *Distinct) Next() (arrow.RecordBatch, error) {
	for {
		if err := d.checkCtx(); err != nil {
			return nil, err
		}
		b, err := d.input.Next()
		if err != nil || b == nil {
			return nil, err
		}
		cols := b.Columns()
		if d.on != nil {
			if cols, err = evalList(d.ctx, d.on, b); err != nil {
				return nil, err
			}
		}
		sel, err := firstSeen(&d.opBase, &d.enc, d.seen, cols, int(b.NumRows()), d.sel[:0])
		if d.on != nil {
			releaseAll(cols)
		}
		if err != nil {
			return nil, err
		}
		d.sel = sel
		if len(sel) == 0 {
			continue
		}
		if len(sel) == int(b.NumRows()) {
			b.Retain()
			return d.emit(b), nil
		}
		return d.emit(takeBatch(b, sel)), nil
	}
}

// firstSeen appends to sel the rows whose key was not in seen (and adds them).
func firstSeen(base *opBase, enc *vec.KeyEncoder, seen map[string]struct{}, cols []arrow.Array, n int, sel []int32) ([]int32, error) {
	if len(cols) == 0 {
		// No columns: all rows are equal.
		if _, ok := seen[""]; !ok && n > 0 {
			seen[""] = struct{}{}
			sel = append(sel, 0)
		}
		return sel, nil
	}
	enc.Encode(cols)
	var added int64
	for i := 0; i < n; i++ {
		k := enc.Key(i)
		if _, ok := seen[string(k)]; ok {
			continue
		}
		seen[string(k)] = struct{}{}
		added += int64(len(k)) + 48
		sel = append(sel, int32(i))
	}
	return sel, base.grow(added)
}

// Close closes the input.
func (d *Distinct) Close() error { d.closeBase(); d.seen = nil; return d.input.Close() }
