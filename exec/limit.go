package exec

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Limit skips Offset rows and passes at most Count rows; it stops pulling
// its input once Count rows were returned.
type Limit struct {
	opBase
	input         Operator
	node          *planner.Limit
	count, offset int64
	seen, sent    int64
}

func newLimit(env *Env, n *planner.Limit, input Operator) *Limit {
	return &Limit{opBase: opBase{env: env}, input: input, node: n}
}

// limitValues evaluates LIMIT/OFFSET (constants or run-time expressions).
func limitValues(ctx context.Context, env *Env, n *planner.Limit) (count, offset int64, err error) {
	count, offset = n.Count, n.Offset
	if n.CountExpr != nil {
		d, err := constDatum(ctx, env, n.CountExpr)
		if err != nil {
			return 0, 0, err
		}
		if d == nil {
			count = -1 // LIMIT NULL is LIMIT ALL
		} else if count, err = limitInt(d, n.CountExpr.Type()); err != nil {
			return 0, 0, err
		} else if count < 0 {
			return 0, 0, pgerror.New(pgerror.InvalidRowCountInLimit, "LIMIT must not be negative")
		}
	}
	if n.OffsetExpr != nil {
		d, err := constDatum(ctx, env, n.OffsetExpr)
		if err != nil {
			return 0, 0, err
		}
		if d != nil {
			if offset, err = limitInt(d, n.OffsetExpr.Type()); err != nil {
				return 0, 0, err
			}
			if offset < 0 {
				return 0, 0, pgerror.New(pgerror.InvalidRowCountInOffset, "OFFSET must not be negative")
			}
		} else {
			offset = 0
		}
	}
	if offset < 0 {
		return 0, 0, pgerror.New(pgerror.InvalidRowCountInOffset, "OFFSET must not be negative")
	}
	return count, offset, nil
}

func limitInt(d types.Datum, t types.T) (int64, error) {
	if t.Family == types.FamInt8 || t.IsInteger() {
		if v, ok := d.(int64); ok {
			return v, nil
		}
	}
	v, err := castDatum(nil, d, t, types.Int8T, false)
	if err != nil {
		return 0, err
	}
	return v.(int64), nil
}

// Init evaluates the bounds and initializes the input.
func (l *Limit) Init(ctx context.Context) error {
	l.initBase(ctx)
	c, o, err := limitValues(l.ctx, l.env, l.node)
	if err != nil {
		return err
	}
	l.count, l.offset = c, o
	return l.input.Init(l.ctx)
}

// Next returns the next slice of rows within the bounds.
func (l *Limit) Next() (arrow.RecordBatch, error) {
	for {
		if l.count >= 0 && l.sent >= l.count {
			return nil, nil
		}
		if err := l.checkCtx(); err != nil {
			return nil, err
		}
		b, err := l.input.Next()
		if err != nil || b == nil {
			return nil, err
		}
		n := b.NumRows()
		lo := int64(0)
		if l.seen < l.offset {
			lo = min(n, l.offset-l.seen)
		}
		l.seen += n
		hi := n
		if l.count >= 0 {
			if rem := l.count - l.sent; rem < n-lo {
				hi = lo + rem
			}
		}
		if hi <= lo {
			continue
		}
		l.sent += hi - lo
		if lo == 0 && hi == n {
			b.Retain()
			return l.emit(b), nil
		}
		return l.emit(b.NewSlice(lo, hi)), nil
	}
}

// Close closes the input.
func (l *Limit) Close() error { l.closeBase(); return l.input.Close() }
