package stream

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/types"
)

// etScript is a source that replays fixed messages, then ends.
type etScript struct {
	schema *arrow.Schema
	msgs   []Message
	closed bool
}

func (s *etScript) Schema() *arrow.Schema { return s.schema }
func (s *etScript) Close() error {
	for _, m := range s.msgs {
		ReleaseMessage(m)
	}
	s.msgs, s.closed = nil, true
	return nil
}
func (s *etScript) Next(context.Context) (Message, error) {
	if len(s.msgs) == 0 {
		return nil, nil
	}
	m := s.msgs[0]
	s.msgs = s.msgs[1:]
	return m, nil
}

// tsSchema returns columns of int8 except the named timestamp columns
// (names ending in "ts" are timestamps).
func tsSchema(names ...string) (*arrow.Schema, []types.T) {
	fs := make([]arrow.Field, len(names))
	ts := make([]types.T, len(names))
	for i, n := range names {
		t := types.Int8T
		if strings.HasSuffix(n, "ts") {
			t = types.TimestampT
		}
		fs[i], ts[i] = types.ArrowField(n, t), t
	}
	return arrow.NewSchema(fs, nil), ts
}

// tchunk builds a chunk from lines "op v1 v2 ..." (NULL allowed); values
// of timestamp columns are microseconds.
func tchunk(t testing.TB, mem memory.Allocator, schema *arrow.Schema, text string) *Chunk {
	rows := parseRows(t, text)
	bs := make([]array.Builder, schema.NumFields())
	for i := range bs {
		bs[i] = array.NewBuilder(mem, schema.Field(i).Type)
		defer bs[i].Release()
	}
	ops := make([]Op, len(rows))
	for i, r := range rows {
		require.Len(t, r.vals, len(bs))
		ops[i] = r.op
		for c, v := range r.vals {
			switch b := bs[c].(type) {
			case *array.Int64Builder:
				if v == nil {
					b.AppendNull()
				} else {
					b.Append(*v)
				}
			case *array.TimestampBuilder:
				if v == nil {
					b.AppendNull()
				} else {
					b.Append(arrow.Timestamp(*v))
				}
			}
		}
	}
	cols := make([]arrow.Array, len(bs))
	for i, b := range bs {
		cols[i] = b.NewArray()
		defer cols[i].Release()
	}
	return &Chunk{Batch: array.NewRecordBatch(schema, cols, int64(len(rows))), Ops: ops}
}

// fmtInts renders row i with int64/timestamp columns as integers.
func fmtInts(b arrow.RecordBatch, i int) string {
	parts := make([]string, b.NumCols())
	for c := range parts {
		col := b.Column(c)
		switch {
		case col.IsNull(i):
			parts[c] = "NULL"
		default:
			switch a := col.(type) {
			case *array.Int64:
				parts[c] = strconv.FormatInt(a.Value(i), 10)
			case *array.Timestamp:
				parts[c] = strconv.FormatInt(int64(a.Value(i)), 10)
			default:
				parts[c] = fmt.Sprint(types.GetDatum(col, i, types.UnknownT))
			}
		}
	}
	return strings.Join(parts, " ")
}

// drain pulls every message from e and renders them: chunk rows as
// "op v...", barriers as "barrier E", watermarks as "wm col value".
func drainAll(t testing.TB, e Executor) []string {
	var out []string
	ctx := context.Background()
	for {
		m, err := e.Next(ctx)
		require.NoError(t, err)
		if m == nil {
			return out
		}
		out = append(out, renderMsg(m)...)
		ReleaseMessage(m)
	}
}

func renderMsg(m Message) []string {
	switch m := m.(type) {
	case *Chunk:
		var out []string
		for i, op := range m.Ops {
			out = append(out, op.String()+" "+fmtInts(m.Batch, i))
		}
		return out
	case Barrier:
		return []string{fmt.Sprintf("barrier %d", m.Epoch)}
	case Watermark:
		v, _ := datumMicros(m.Value)
		return []string{fmt.Sprintf("wm %d %d", m.Col, v)}
	}
	return nil
}

func etLines(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func ivMicros(us int64) types.Interval { return types.Interval{Micros: us} }

// minusEval evaluates column col - d (watermark expression ts - d).
func minusEval(col int, d int64) Evaluator {
	return EvalFunc(func(_ context.Context, b arrow.RecordBatch) (arrow.Array, error) {
		in := b.Column(col).(*array.Timestamp)
		bl := array.NewTimestampBuilder(memory.DefaultAllocator, in.DataType().(*arrow.TimestampType))
		defer bl.Release()
		for i := 0; i < in.Len(); i++ {
			if in.IsNull(i) {
				bl.AppendNull()
			} else {
				bl.Append(in.Value(i) - arrow.Timestamp(d))
			}
		}
		return bl.NewArray(), nil
	})
}

// arrowSchemaOf returns the schema of the given fields of s.
func arrowSchemaOf(s *arrow.Schema, cols ...int) *arrow.Schema {
	fs := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fs[i] = s.Field(c)
	}
	return arrow.NewSchema(fs, nil)
}
