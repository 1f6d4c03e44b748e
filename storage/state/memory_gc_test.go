package state_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/statetest"
)

// TestMemoryMetamorphicGeneralGC is TestMemoryMetamorphic with Commit and
// the GC after a snapshot's release taking their general loops: the
// tables a test builds fit one segment, where both take the flat loops
// (memory_gc.go) otherwise.
func TestMemoryMetamorphicGeneralGC(t *testing.T) {
	for _, s := range statetest.Seeds([]uint64{1, 2, 3, 4}, *seedFlag, *seedsFlag) {
		t.Run(fmt.Sprint("seed=", s), func(t *testing.T) {
			for _, cfg := range []statetest.Config{
				{Seed: s, Ops: *opsFlag},
				{Seed: s, Ops: *opsFlag, KeySpace: 20, MaxBatch: 5},
			} {
				b, budget, desc := memBackend(s)
				open := b.Open
				b.Open = func(t testing.TB) state.Table {
					tbl := open(t)
					state.GeneralGCLoops(tbl)
					return tbl
				}
				b.Reopen = func(t testing.TB, tbl state.Table) state.Table {
					require.NoError(t, tbl.Close())
					return b.Open(t)
				}
				t.Log(desc)
				statetest.Run(t, b, cfg)
				require.Zero(t, budget.Used())
			}
		})
	}
}
