package engine

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// Base tables' rows are charged to the state budget up to half of it, and
// the charge follows INSERT, TRUNCATE and DROP TABLE; a view still builds
// and stays exact with the smaller state share.
func TestTableCharge(t *testing.T) {
	ctx := context.Background()
	const limit = 64 << 20 // state share 24 MiB, cap 12 MiB
	e, err := Open(ctx, Options{DataDir: t.TempDir(), MemoryLimit: limit})
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	s, err := e.Session("sabot", "sabot", nil)
	require.NoError(t, err)
	c, b := e.tcharge, e.st.states.Budget
	capBytes := tableChargeCap(e.shares.state)
	require.Equal(t, int64(12<<20), capBytes)

	query(t, s, "CREATE TABLE t (k int, v bigint)")
	query(t, s, "INSERT INTO t SELECT g % 1000, g FROM generate_series(1, 500000) g")
	// 500K rows of 4+8 bytes and validity bitmaps.
	require.GreaterOrEqual(t, c.Total(), int64(500_000*12))
	require.Less(t, c.Total(), int64(500_000*14))
	c.settle()
	require.Equal(t, c.Total(), c.Charged())
	require.GreaterOrEqual(t, b.Used(), c.Charged())

	query(t, s, "INSERT INTO t SELECT g % 1000, g FROM generate_series(1, 1000000) g")
	c.settle()
	require.Greater(t, c.Total(), capBytes)
	require.Equal(t, capBytes, c.Charged(), "capped at half the state share")

	// The charge is soft: a write that needs budget takes it back (the
	// budget asks its yielders last), and settle takes it again once free.
	used := b.Used()
	require.Equal(t, int64(3<<20), c.yield(3<<20))
	require.Equal(t, capBytes-3<<20, c.Charged())
	require.Equal(t, used-3<<20, b.Used())
	require.Equal(t, int64(3<<20), c.Yielded())
	c.settle()
	require.Equal(t, capBytes, c.Charged())

	// A grouped view over the table builds with the rest of the share.
	query(t, s, "CREATE MATERIALIZED VIEW m AS SELECT k, count(*) AS c, sum(v) AS s FROM t GROUP BY k")
	rows := query(t, s, "SELECT count(*), sum(c), sum(s) FROM m")
	require.Equal(t, []string{"1000", "1500000", "625000750000"}, rows[0])

	query(t, s, "TRUNCATE t")
	require.Zero(t, c.Total())
	c.settle()
	require.Zero(t, c.Charged())

	query(t, s, "INSERT INTO t SELECT g % 1000, g FROM generate_series(1, 200000) g")
	c.settle()
	require.Positive(t, c.Charged())
	query(t, s, "DROP MATERIALIZED VIEW m")
	query(t, s, "DROP TABLE t")
	require.Zero(t, c.Total())
	c.settle()
	require.Zero(t, c.Charged())
}
