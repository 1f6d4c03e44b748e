package exec

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/catalog"
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
}
