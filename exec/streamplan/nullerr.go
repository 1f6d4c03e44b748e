package streamplan

import (
	"context"
	"log/slog"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// nullOnError wraps a view's expression: a data error (SQLSTATE class 22,
// such as a division by zero) in some row makes that row's value NULL
// instead of stopping the view forever — a continuous query cannot report
// an error to the statement that caused it. Filters then drop the row.
// Other errors still stop the view.
type nullOnError struct {
	ev interface {
		Eval(ctx context.Context, b arrow.RecordBatch) (arrow.Array, error)
	}
	t   types.T
	mem memory.Allocator
	log *slog.Logger
}

func isDataError(err error) bool {
	return strings.HasPrefix(string(pgerror.CodeOf(err)), "22")
}

func (n *nullOnError) Eval(ctx context.Context, b arrow.RecordBatch) (arrow.Array, error) {
	a, err := n.ev.Eval(ctx, b)
	if err == nil || !isDataError(err) {
		return a, err
	}
	// Row by row: keep the values that evaluate, NULL the others.
	parts := make([]arrow.Array, 0, b.NumRows())
	defer func() {
		for _, p := range parts {
			p.Release()
		}
	}()
	bad := 0
	for i := int64(0); i < b.NumRows(); i++ {
		row := b.NewSlice(i, i+1)
		v, err := n.ev.Eval(ctx, row)
		row.Release()
		if err != nil {
			if !isDataError(err) {
				return nil, err
			}
			bad++
			bld := array.NewBuilder(n.mem, types.ArrowType(n.t))
			bld.AppendNull()
			v = bld.NewArray()
			bld.Release()
		}
		parts = append(parts, v)
	}
	if n.log != nil {
		n.log.Warn("materialized view expression failed; rows get NULL", "rows", bad, "err", err)
	}
	return array.Concatenate(parts, n.mem)
}
