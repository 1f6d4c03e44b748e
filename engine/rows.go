package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/api"
	"github.com/sabotsql/sabotsql/exec"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// opRows streams a query's batches from its operator tree.
type opRows struct {
	cols   []api.Column
	op     exec.Operator
	cancel context.CancelFunc
	verb   string
	n      int64
	done   bool
	err    error
}

func (r *opRows) Columns() []api.Column { return r.cols }

func (r *opRows) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if r.done {
		return nil, r.err
	}
	b, err := r.op.Next()
	if err != nil {
		r.finish()
		if pgerror.CodeOf(err) == pgerror.QueryCanceled && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = errStatementTimeout
		}
		r.err = err
		return nil, err
	}
	if b == nil {
		r.finish()
		return nil, nil
	}
	r.n += b.NumRows()
	return b, nil
}

func (r *opRows) finish() {
	if !r.done {
		r.done = true
		r.op.Close()
		r.cancel()
	}
}

func (r *opRows) Tag() string { return fmt.Sprintf("%s %d", r.verb, r.n) }

func (r *opRows) Close() error {
	r.finish()
	return nil
}

// staticRows serves materialized batches (SHOW, EXPLAIN, RETURNING).
type staticRows struct {
	cols    []api.Column
	batches []arrow.RecordBatch
	i       int
	tag     string
}

func (r *staticRows) Columns() []api.Column { return r.cols }

func (r *staticRows) Next(context.Context) (arrow.RecordBatch, error) {
	for r.i < len(r.batches) {
		b := r.batches[r.i]
		r.i++
		if b.NumRows() > 0 {
			return b, nil
		}
	}
	return nil, nil
}

func (r *staticRows) Tag() string { return r.tag }

func (r *staticRows) Close() error {
	for _, b := range r.batches {
		b.Release()
	}
	r.batches = nil
	return nil
}

// textRows builds a staticRows of text columns.
func textRows(tag string, names []string, rows [][]string) *staticRows {
	cols := make([]api.Column, len(names))
	fields := make([]arrow.Field, len(names))
	for i, n := range names {
		cols[i] = api.Column{Name: n, T: types.TextT}
		fields[i] = types.ArrowField(n, types.TextT)
	}
	bs := make([]*array.StringBuilder, len(names))
	arrs := make([]arrow.Array, len(names))
	for i := range bs {
		bs[i] = array.NewStringBuilder(memory.DefaultAllocator)
		for _, r := range rows {
			bs[i].Append(r[i])
		}
		arrs[i] = bs[i].NewArray()
		bs[i].Release()
	}
	rb := array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, int64(len(rows)))
	for _, a := range arrs {
		a.Release()
	}
	if tag == "" {
		tag = fmt.Sprintf("SELECT %d", len(rows))
	}
	return &staticRows{cols: cols, batches: []arrow.RecordBatch{rb}, tag: tag}
}

// collect drains an operator into retained batches.
func collect(ctx context.Context, op exec.Operator) ([]arrow.RecordBatch, error) {
	out, err := exec.Collect(ctx, op)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func releaseAll(bs []arrow.RecordBatch) {
	for _, b := range bs {
		b.Release()
	}
}

func countRows(bs []arrow.RecordBatch) int64 {
	var n int64
	for _, b := range bs {
		n += b.NumRows()
	}
	return n
}

func commandVerb(sql string) string {
	f := strings.Fields(sql)
	if len(f) == 0 {
		return ""
	}
	return strings.ToUpper(f[0])
}

var errNoRows = pgerror.Internal("no rows")
