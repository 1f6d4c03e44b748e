package stream

import (
	"context"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/sql/types"
)

// NowStream is the right input of a temporal filter (`WHERE ts > now() -
// INTERVAL '1 hour'` in a materialized view, a DynamicFilter): a
// one-column changelog of at most one row, value(t), where t is the time
// at which a barrier passes (never earlier than the previous one). Its
// input is a stream of barriers (the engine's ticks); before each barrier
// it emits the change from the previous value to the new one, so the
// filter applies it at that barrier: a view reads as of its last epoch,
// and its now() is that epoch's time.
type NowStream struct {
	in     Executor
	schema *arrow.Schema
	t      types.T
	clock  func() time.Time
	value  func(types.TimestampTZ) (types.Datum, error)
	mem    memory.Allocator

	last    types.TimestampTZ
	cur     types.Datum
	have    bool
	pending Message
}

// NewNowStream emits value(t) of type t as one column named name before
// every barrier of in, t being clock() at the barrier (kept from going
// back).
func NewNowStream(in Executor, name string, t types.T, clock func() time.Time, value func(types.TimestampTZ) (types.Datum, error)) *NowStream {
	return &NowStream{in: in, schema: arrow.NewSchema([]arrow.Field{types.ArrowField(name, t)}, nil), t: t,
		clock: clock, value: value, mem: memory.DefaultAllocator}
}

// Schema implements Executor.
func (n *NowStream) Schema() *arrow.Schema { return n.schema }

// Next implements Executor.
func (n *NowStream) Next(ctx context.Context) (Message, error) {
	if m := n.pending; m != nil {
		n.pending = nil
		return m, nil
	}
	for {
		m, err := n.in.Next(ctx)
		if err != nil || m == nil {
			return m, err
		}
		switch m := m.(type) {
		case Barrier:
			c, err := n.change()
			if err != nil || c == nil {
				return m, err
			}
			n.pending = m
			return c, nil
		case *Chunk:
			m.Release() // the ticks carry no rows
		case Watermark:
		default:
			return m, nil
		}
	}
}

// change moves the value to the current time's and returns the change, or
// nil when the value stayed.
func (n *NowStream) change() (*Chunk, error) {
	t := types.TimestampTZ(n.clock().UnixMicro())
	if n.have && t < n.last {
		t = n.last
	}
	n.last = t
	v, err := n.value(t)
	if err != nil {
		return nil, err
	}
	if n.have && (v == nil) == (n.cur == nil) && (v == nil || types.Compare(v, n.cur, n.t) == 0) {
		return nil, nil
	}
	b := array.NewBuilder(n.mem, n.schema.Field(0).Type)
	defer b.Release()
	var ops []Op
	if n.have {
		types.AppendDatum(b, n.cur, n.t)
		ops = append(ops, Delete)
	}
	types.AppendDatum(b, v, n.t)
	ops = append(ops, Insert)
	n.cur, n.have = v, true
	a := b.NewArray()
	defer a.Release()
	return &Chunk{Batch: array.NewRecordBatch(n.schema, []arrow.Array{a}, int64(len(ops))), Ops: ops}, nil
}

// Close implements Executor.
func (n *NowStream) Close() error {
	if n.pending != nil {
		ReleaseMessage(n.pending)
		n.pending = nil
	}
	return n.in.Close()
}
