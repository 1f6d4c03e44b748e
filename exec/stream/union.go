package stream

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Union is UNION ALL of inputs with equal schemas: chunks pass through,
// barriers are aligned, and a watermark on a column is forwarded as the
// minimum over inputs once every live input reported one.
type Union struct {
	al     *aligner
	types  []types.T
	schema *arrow.Schema
	wms    map[int][]types.Datum // column → last watermark per input (nil: none)
}

// NewUnion returns the UNION ALL of inputs (columns of SQL types ts).
func NewUnion(ts []types.T, inputs ...Executor) (*Union, error) {
	if len(inputs) == 0 {
		return nil, pgerror.Internal("stream: union of no inputs")
	}
	s := inputs[0].Schema()
	for _, in := range inputs[1:] {
		if !in.Schema().Equal(s) {
			return nil, pgerror.Internal("stream: union inputs %s and %s differ", s, in.Schema())
		}
	}
	return &Union{al: newAligner(inputs...), types: ts, schema: s, wms: map[int][]types.Datum{}}, nil
}

// Schema implements Executor.
func (u *Union) Schema() *arrow.Schema { return u.schema }

// Next implements Executor.
func (u *Union) Next(ctx context.Context) (Message, error) {
	for {
		i, m, err := u.al.next(ctx)
		if err != nil || m == nil {
			return m, err
		}
		w, ok := m.(Watermark)
		if !ok || i < 0 {
			return m, nil
		}
		if w.Col < 0 || w.Col >= len(u.types) {
			return nil, pgerror.Internal("stream: watermark column %d out of range", w.Col)
		}
		ws := u.wms[w.Col]
		if ws == nil {
			ws = make([]types.Datum, len(u.al.inputs))
			u.wms[w.Col] = ws
		}
		ws[i] = w.Value
		var lo types.Datum
		complete := true
		for j, v := range ws {
			if u.al.ended[j] {
				continue
			}
			if v == nil {
				complete = false
				break
			}
			if lo == nil || types.Compare(v, lo, u.types[w.Col]) < 0 {
				lo = v
			}
		}
		if complete && lo != nil {
			return Watermark{Col: w.Col, Value: lo}, nil
		}
	}
}

// Close implements Executor.
func (u *Union) Close() error { return u.al.close() }
