package exec

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/planner"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Operator is a batch (pull-based) physical operator.
//
// Contract: Init is called once before Next; Next returns the next batch or
// nil when the input is exhausted (a returned batch has at least one row).
// The returned batch is owned by the operator and valid only until the next
// call to Next or Close: a consumer that keeps it must Retain it (and later
// Release it). Close releases everything and may be called at any time, also
// after an error or before exhaustion; it is idempotent.
type Operator interface {
	Init(ctx context.Context) error
	Next() (arrow.RecordBatch, error)
	Close() error
}

// TableReader gives operators access to base-table storage.
type TableReader interface {
	// ScanTable returns an operator over a consistent snapshot of t's live
	// rows with columns cols (table positions), plus a trailing int8 row-id
	// column when rowID is true.
	ScanTable(ctx context.Context, t *catalog.Table, cols []int, rowID bool) (Operator, error)
}

// Env is what the builder needs besides the plan: one per statement.
type Env struct {
	Eval   *kernels.EvalContext
	Tables TableReader
	// Params are the values of $1..$n (Datums of the parameter types).
	Params []types.Datum
	// Mem accounts this statement's memory against its limit.
	Mem *MemAccount
	// BatchSize is the target number of rows per batch (default 1024).
	BatchSize int

	// outer is the stack of enclosing rows bound while building a
	// correlated subquery's plan (innermost last).
	outer []outerFrame
}

// outerFrame is one enclosing query row visible to a correlated subquery
// (values by column position of that query's expression input).
type outerFrame struct {
	vals map[int]types.Datum
}

// evalCtx returns the statement's evaluation context (a default one when the
// Env has none).
func (e *Env) evalCtx() *kernels.EvalContext {
	if e.Eval == nil {
		e.Eval = &kernels.EvalContext{Mem: memory.DefaultAllocator}
	} else if e.Eval.Mem == nil {
		// Never write into the caller's (shared) context: use a copy.
		cp := *e.Eval
		cp.Mem = memory.DefaultAllocator
		e.Eval = &cp
	}
	return e.Eval
}

func (e *Env) alloc() memory.Allocator { return e.evalCtx().Mem }

func (e *Env) batchSize() int {
	if e.BatchSize <= 0 {
		return 1024
	}
	return e.BatchSize
}

// outerValue resolves an OuterRef against the stack of enclosing rows.
func (e *Env) outerValue(r *planner.OuterRef) (types.Datum, error) {
	i := len(e.outer) - r.Depth
	if r.Depth < 1 || i < 0 {
		return nil, pgerror.Internal("outer reference %s has no enclosing row", r)
	}
	d, ok := e.outer[i].vals[r.Idx]
	if !ok {
		return nil, pgerror.Internal("outer reference %s not bound", r)
	}
	return d, nil
}

// withOuter returns a copy of e with one more enclosing row on the stack.
func (e *Env) withOuter(f outerFrame) *Env {
	cp := *e
	cp.outer = append(e.outer[:len(e.outer):len(e.outer)], f)
	return &cp
}
