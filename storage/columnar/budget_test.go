package columnar

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/storage/columnar/vfs"
	"github.com/sabotsql/sabotsql/storage/state/keys"
	"github.com/sabotsql/sabotsql/storage/state/statetest"
)

// A soft charge (Yielder) gives way to an uncommitted write that does not
// fit otherwise, only after caches and committed memtables gave up theirs;
// a yielder that keeps its bytes leaves the write failing with 53200.
func TestBudgetYielder(t *testing.T) {
	ctx := context.Background()
	const limit, soft = 1 << 20, 768 << 10
	write := func(tbl *Table, lo int) error {
		b := array.NewRecordBuilder(memory.NewGoAllocator(), statetest.Schema)
		defer b.Release()
		var ks [][]byte
		for k := lo; k < lo+2000; k++ { // ~420 KB charged, uncommitted
			ks = append(ks, keys.Int64Key(int64(k)))
			b.Field(0).(*array.Int64Builder).Append(int64(k) * 10)
			b.Field(1).(*array.StringBuilder).Append(strings.Repeat("y", 40))
		}
		rec := b.NewRecordBatch()
		defer rec.Release()
		return tbl.Write(ctx, ks, nil, rec)
	}
	for _, gives := range []bool{false, true} {
		budget := NewBudget(limit)
		require.True(t, budget.TryReserve(soft))
		held, asked := int64(soft), int64(0)
		remove := budget.AddYielder(func(n int64) int64 {
			asked += n
			if !gives {
				return 0
			}
			g := min(n, held)
			held -= g
			budget.Release(g)
			return g
		})
		tbl := openTest(t, vfs.NewMem(), func(o *Options) {
			o.Budget = budget
			o.MemtableSize = 1 << 30 // only the budget forces flushes
		})
		// Committed data first: it is flushed before the soft charge is
		// asked for anything.
		putRange(t, tbl, 100000, 100500, 1)
		err := write(tbl, 0)
		require.Positive(t, asked, "the yielder was asked")
		if !gives {
			require.Equal(t, pgerror.OutOfMemory, pgerror.CodeOf(err))
			require.Equal(t, int64(soft), held)
		} else {
			require.NoError(t, err)
			require.Less(t, held, int64(soft))
			// It gave only what was missing.
			require.Positive(t, held)
			require.NoError(t, tbl.Commit(ctx, 2))
			requireRange(t, tbl, 0, 2000)
			requireRange(t, tbl, 100000, 100500)
		}
		require.Greater(t, tbl.Shape().Runs, 0, "the committed memtable was flushed first")
		require.LessOrEqual(t, budget.Used(), budget.Limit())
		require.NoError(t, tbl.Close())
		require.Equal(t, held, budget.Used())
		remove()
	}
}
