package streamplan

import (
	"context"
	"fmt"

	"github.com/sabotsql/sabotsql/exec/stream"
)

// spillJoin gives hash join hj a state table per side to spill its
// buckets to beyond SpillBytes (stream.HashJoin.WithSpill), when the
// builder has States; hj owns and closes the tables. The roles are
// "join<n>_left" and "join<n>_right". On error hj is left without spilling
// and the caller still owns it.
func (b *Builder) spillJoin(ctx context.Context, hj *stream.HashJoin) error {
	if b.States == nil {
		return nil
	}
	b.nstates++
	n := b.nstates
	left, err := b.States(ctx, fmt.Sprintf("join%d_left", n), stream.JoinSpillSchema())
	if err != nil {
		return err
	}
	right, err := b.States(ctx, fmt.Sprintf("join%d_right", n), stream.JoinSpillSchema())
	if err != nil {
		left.Close()
		return err
	}
	hj.WithSpill(left, right, b.SpillBytes)
	b.SpillingJoins = append(b.SpillingJoins, hj)
	return nil
}
