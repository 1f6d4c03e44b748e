package kernels

import "github.com/apache/arrow-go/v18/arrow"

// GroupBook is a streaming aggregate's bookkeeping of one group, kept by
// the caller beside the accumulators (see TouchFolder).
type GroupBook struct {
	// Rows is the group's live input rows.
	Rows int64
	// Stamp equals Touch.Stamp when the current epoch touched the group.
	Stamp uint32
	// Dead marks a group removed by watermark cleanup.
	Dead bool
}

// Touch is the per-chunk bookkeeping a TouchFolder does for its caller:
// every row's group gets Rows+1, and each group whose Stamp differs from
// Stamp (first touch of the epoch) gets Stamp, is appended to Dirty and has
// whether it had rows before (Rows > 0) appended to OldExists.
type Touch struct {
	Book      []GroupBook
	Stamp     uint32
	Dirty     []uint32
	OldExists []bool
}

// TouchFolder is an optional GroupedAcc extension for accumulators with a
// fixed-size per-group state: FoldTouch folds a chunk of inserted rows as
// Update would and does the caller's bookkeeping (t) in the same loop over
// the rows, so resolving, touching and folding a row read its group's
// records once.
//
// Every groups[i] is a valid group id (no NoGroup), below len(t.Book).
// FoldTouch returns false, having changed nothing (neither the state nor
// t), when it cannot take the fused path for these arguments (NULLs,
// per-row parameters, …); the caller then does the bookkeeping and calls
// Update. An error (bad argument values) leaves the state as Update's
// error would; the caller fails the chunk.
type TouchFolder interface {
	FoldTouch(ctx *EvalContext, groups []uint32, args []arrow.Array, t *Touch) (bool, error)
}

// TouchRows does t's bookkeeping for groups alone (no fold): the
// reference a TouchFolder's loop must match.
func TouchRows(groups []uint32, t *Touch) {
	book, stamp := t.Book, t.Stamp
	dirty, oldEx := t.Dirty, t.OldExists
	for _, g := range groups {
		b := &book[g]
		if b.Stamp != stamp {
			b.Stamp = stamp
			dirty = append(dirty, g)
			oldEx = append(oldEx, b.Rows > 0)
		}
		b.Rows++
	}
	t.Dirty, t.OldExists = dirty, oldEx
}
