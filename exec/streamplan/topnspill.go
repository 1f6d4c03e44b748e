package streamplan

import (
	"context"
	"fmt"

	"github.com/sabotsql/sabotsql/exec/stream"
)

// spillTopN gives group top-N gt a state table to spill its partitions to
// beyond SpillBytes (stream.GroupTopN.WithSpill), when the builder has
// States; gt owns and closes the table. The role is "topn<n>". On error gt
// is left without spilling and the caller still owns it.
func (b *Builder) spillTopN(ctx context.Context, gt *stream.GroupTopN) error {
	if b.States == nil {
		return nil
	}
	b.nstates++
	t, err := b.States(ctx, fmt.Sprintf("topn%d", b.nstates), stream.TopNSpillSchema())
	if err != nil {
		return err
	}
	gt.WithSpill(t, b.SpillBytes)
	b.SpillingTopN = append(b.SpillingTopN, gt)
	return nil
}

// spillWindow gives window operator ow a state table to spill its
// partitions to beyond SpillBytes (stream.OverWindow.WithSpill), when the
// builder has States; ow owns and closes the table. The role is
// "window<n>". On error ow is left without spilling and the caller still
// owns it.
func (b *Builder) spillWindow(ctx context.Context, ow *stream.OverWindow) error {
	if b.States == nil {
		return nil
	}
	b.nstates++
	t, err := b.States(ctx, fmt.Sprintf("window%d", b.nstates), stream.WindowSpillSchema())
	if err != nil {
		return err
	}
	ow.WithSpill(t, b.SpillBytes)
	b.SpillingWindows = append(b.SpillingWindows, ow)
	return nil
}
