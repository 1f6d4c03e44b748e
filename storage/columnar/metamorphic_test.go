package columnar

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/sabotsql/sabotsql/storage/columnar/vfs"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/statetest"
	"github.com/stretchr/testify/require"
)

var (
	seedFlag  = flag.Uint64("seed", 0, "run the metamorphic test with this seed only")
	opsFlag   = flag.Int("ops", 2500, "operations per metamorphic run")
	seedsFlag = flag.Int("seeds", 0, "random seeds to run besides the fixed ones")
)

// randomOptions draws table options that make flushes, compactions and
// cache evictions frequent.
func randomOptions(rng *rand.Rand, fs vfs.FS) Options {
	return Options{
		FS:                    fs,
		MemtableSize:          int64(512 << rng.IntN(8)),
		BlockRows:             []int{1, 3, 16, 128, 1024}[rng.IntN(5)],
		CacheSize:             int64([]int{0, 1 << 10, 64 << 10}[rng.IntN(3)]),
		CompactionTrigger:     2 + rng.IntN(4),
		DisableAutoCompaction: rng.IntN(2) == 0,
		Budget:                NewBudget(256 << 20),
	}
}

func columnarBackend(t *testing.T, seed uint64) (statetest.Backend, string) {
	rng := rand.New(rand.NewPCG(seed, 77))
	fs := vfs.NewMem()
	opts := randomOptions(rng, fs)
	desc := fmt.Sprintf("memtable=%d blockRows=%d cache=%d trigger=%d autoCompact=%v",
		opts.MemtableSize, opts.BlockRows, opts.CacheSize, opts.CompactionTrigger, !opts.DisableAutoCompaction)
	ctx := context.Background()
	open := func(tb testing.TB) state.Table {
		tbl, err := Open(ctx, statetest.Schema, opts)
		require.NoError(tb, err)
		return tbl
	}
	return statetest.Backend{
		Open: open,
		Checkpoint: func(tb testing.TB, tbl state.Table) state.Epoch {
			e, err := tbl.(*Table).Checkpoint(ctx)
			require.NoError(tb, err)
			return e
		},
		Reopen: func(tb testing.TB, tbl state.Table) state.Table {
			require.NoError(tb, tbl.Close())
			return open(tb)
		},
		Maintain: func(tb testing.TB, tbl state.Table, rng *rand.Rand) string {
			ct := tbl.(*Table)
			switch rng.IntN(3) {
			case 0:
				err := ct.flush(ctx)
				if err != errNothingToFlush {
					require.NoError(tb, err)
				}
				return "flush"
			case 1:
				require.NoError(tb, ct.Compact(ctx))
				return "compact"
			default:
				require.NoError(tb, ct.CompactAll(ctx))
				return "compact all"
			}
		},
	}, desc
}

// TestMetamorphic runs random operation sequences under random options
// against the map model, with flushes, compactions, checkpoints and
// restarts (close, then reopen from the same filesystem and manifest: the
// table comes back at its last checkpoint). -seed replays one seed, -seeds
// adds random ones, -ops lengthens runs.
func TestMetamorphic(t *testing.T) {
	for _, s := range statetest.Seeds([]uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, *seedFlag, *seedsFlag) {
		t.Run(fmt.Sprint("seed=", s), func(t *testing.T) {
			b, desc := columnarBackend(t, s)
			t.Log(desc)
			cfg := statetest.Config{Seed: s, Ops: *opsFlag}
			if s%3 == 0 {
				cfg.KeySpace, cfg.MaxBatch = 30, 6
			}
			statetest.Run(t, b, cfg)
		})
	}
}
