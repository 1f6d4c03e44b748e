package exec

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
)

// Build turns a physical plan into an operator tree. The tree must be
// initialized with Init before use and closed with Close afterwards.
func Build(env *Env, n planner.Node) (Operator, error) {
	if env == nil {
		return nil, pgerror.Internal("exec.Build without an Env")
	}
	switch n := n.(type) {
	case *planner.Scan:
		return newScan(env, n)
	case *planner.Values:
		return newValues(env, n)
	case *planner.TableFunc:
		return newTableFunc(env, n)
	case *planner.TimeWindow:
		in, err := Build(env, n.Input)
		if err != nil {
			return nil, err
		}
		op, err := newTimeWindow(env, n, in)
		return finish(in, op, err)
	case *planner.Filter:
		in, err := Build(env, n.Input)
		if err != nil {
			return nil, err
		}
		op, err := newFilter(env, n, in)
		return finish(in, op, err)
	case *planner.Project:
		in, err := Build(env, n.Input)
		if err != nil {
			return nil, err
		}
		op, err := newProject(env, n, in)
		return finish(in, op, err)
	case *planner.Aggregate:
		in, err := Build(env, n.Input)
		if err != nil {
			return nil, err
		}
		op, err := newHashAggregate(env, n, in)
		return finish(in, op, err)
	case *planner.Join:
		l, err := Build(env, n.Left)
		if err != nil {
			return nil, err
		}
		r, err := Build(env, n.Right)
		if err != nil {
			l.Close()
			return nil, err
		}
		var op Operator
		if n.Kind == planner.JoinAsOf || n.Kind == planner.JoinAsOfLeft {
			op, err = newAsOfJoin(env, n, l, r)
		} else if len(n.LeftKeys) > 0 {
			op, err = newJoin(env, n, l, r)
		} else {
			op, err = newNestedLoopJoin(env, n, l, r)
		}
		if err != nil {
			l.Close()
			r.Close()
			return nil, err
		}
		return op, nil
	case *planner.Sort:
		in, err := Build(env, n.Input)
		if err != nil {
			return nil, err
		}
		op, err := newSort(env, n, in)
		return finish(in, op, err)
	case *planner.Limit:
		if s, ok := n.Input.(*planner.Sort); ok {
			in, err := Build(env, s.Input)
			if err != nil {
				return nil, err
			}
			op, err := newTopN(env, n, s, in)
			return finish(in, op, err)
		}
		in, err := Build(env, n.Input)
		if err != nil {
			return nil, err
		}
		return newLimit(env, n, in), nil
	case *planner.Distinct:
		in, err := Build(env, n.Input)
		if err != nil {
			return nil, err
		}
		op, err := newDistinct(env, n, in)
		return finish(in, op, err)
	case *planner.SetOp:
		l, err := Build(env, n.Left)
		if err != nil {
			return nil, err
		}
		r, err := Build(env, n.Right)
		if err != nil {
			l.Close()
			return nil, err
		}
		return newSetOp(env, n, l, r), nil
	case *planner.Window:
		in, err := Build(env, n.Input)
		if err != nil {
			return nil, err
		}
		op, err := newWindow(env, n, in)
		return finish(in, op, err)
	case nil:
		return nil, pgerror.Internal("nil plan node")
	}
	return nil, pgerror.Unsupported("plan node %s is not supported by the executor", n.Op())
}

// finish closes in when building its parent failed.
func finish[T Operator](in Operator, op T, err error) (Operator, error) {
	if err != nil {
		in.Close()
		return nil, err
	}
	return op, nil
}

// Collect runs op to completion (Init, Next until done, Close) and returns
// every batch; the caller owns (and must Release) them.
func Collect(ctx context.Context, op Operator) (out []arrow.RecordBatch, err error) {
	defer func() {
		if cerr := op.Close(); err == nil && cerr != nil {
			err = cerr
		}
		if err != nil {
			for _, b := range out {
				b.Release()
			}
			out = nil
		}
	}()
	if err := op.Init(ctx); err != nil {
		return nil, err
	}
	for {
		b, err := op.Next()
		if err != nil {
			return out, err
		}
		if b == nil {
			return out, nil
		}
		b.Retain()
		out = append(out, b)
	}
}

// Run builds n, runs it and returns all batches (caller releases them).
func Run(ctx context.Context, env *Env, n planner.Node) ([]arrow.RecordBatch, error) {
	op, err := Build(env, n)
	if err != nil {
		return nil, err
	}
	return Collect(ctx, op)
}
