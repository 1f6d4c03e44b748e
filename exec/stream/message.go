package stream

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sabotsql/sabotsql/sql/types"
)

// Op is the changelog operation of one row of a Chunk.
type Op uint8

// Changelog operations. An update is an UpdateDelete row immediately followed,
// in the same chunk, by its UpdateInsert row.
const (
	Insert Op = iota
	Delete
	UpdateDelete
	UpdateInsert
)

// Sign is +1 for rows that add to the collection (Insert, UpdateInsert) and
// -1 for rows that remove from it (Delete, UpdateDelete).
func (o Op) Sign() int64 {
	if o == Delete || o == UpdateDelete {
		return -1
	}
	return 1
}

// String returns the op's mark in test files: +, -, U-, U+.
func (o Op) String() string {
	switch o {
	case Insert:
		return "+"
	case Delete:
		return "-"
	case UpdateDelete:
		return "U-"
	case UpdateInsert:
		return "U+"
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Message is what flows on a streaming edge: *Chunk, Barrier or Watermark.
type Message interface{ isMessage() }

// Chunk is a batch of rows with one changelog op per row
// (len(Ops) == Batch.NumRows() > 0).
//
// Ownership: a *Chunk returned by Executor.Next belongs to the caller, which
// must either Release it or hand it on (returning it from its own Next
// transfers ownership again). Executors never keep a reference to a chunk
// they have returned, and never mutate a chunk they received unless they
// own it and pass it on.
type Chunk struct {
	Batch arrow.RecordBatch
	Ops   []Op
}

// Barrier separates epochs: every row before it belongs to epoch Epoch or
// earlier. Checkpoint asks state tables to persist the epoch.
type Barrier struct {
	Epoch      uint64
	Checkpoint bool
}

// Watermark says no later row has column Col below Value (event time).
type Watermark struct {
	Col   int
	Value types.Datum
}

func (*Chunk) isMessage()    {}
func (Barrier) isMessage()   {}
func (Watermark) isMessage() {}

// NumRows is the number of rows of the chunk.
func (c *Chunk) NumRows() int { return len(c.Ops) }

// Release drops the chunk's reference to its batch. It is idempotent.
func (c *Chunk) Release() {
	if c != nil && c.Batch != nil {
		c.Batch.Release()
		c.Batch = nil
	}
}

// ReleaseMessage releases m if it is a chunk.
func ReleaseMessage(m Message) {
	if c, ok := m.(*Chunk); ok {
		c.Release()
	}
}

// Executor is a pull-based streaming executor.
//
// Contract:
//   - Next returns the next message, or (nil, nil) once the stream has ended
//     (every input ended). It blocks until a message is available or ctx is
//     done (then it returns ctx's error, wrapped).
//   - Barriers and watermarks are passed on in the order they were received
//     relative to the rows they follow. An executor that buffers rows (an
//     aggregation) emits them before the barrier that closes their epoch.
//   - With several inputs, barrier alignment: barrier E is forwarded only
//     after E arrived on every input, and no input is read past its barrier E
//     before that.
//   - Chunk ownership transfers to the caller (see Chunk).
//   - An executor is driven by one goroutine. Close releases its resources
//     and its inputs'; it is idempotent.
type Executor interface {
	Schema() *arrow.Schema
	Next(ctx context.Context) (Message, error)
	Close() error
}

// Evaluator computes one column over a batch; *exec.Evaluator satisfies it.
// The returned array has batch.NumRows() rows and is owned by the caller.
type Evaluator interface {
	Eval(ctx context.Context, b arrow.RecordBatch) (arrow.Array, error)
}

// EvalFunc adapts a function to Evaluator.
type EvalFunc func(ctx context.Context, b arrow.RecordBatch) (arrow.Array, error)

// Eval implements Evaluator.
func (f EvalFunc) Eval(ctx context.Context, b arrow.RecordBatch) (arrow.Array, error) {
	return f(ctx, b)
}
