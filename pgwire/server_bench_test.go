package pgwire

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/types"
)

// BenchmarkStreamRows measures end-to-end row throughput to a pgx client
// over loopback TCP (text via the simple protocol, binary via extended).
func BenchmarkStreamRows(b *testing.B) {
	ts := startServer(b, Config{}, nil)
	conn := ts.connect(b, "")
	ctx := context.Background()
	const n = 100000
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
		b.Run(mode.String(), func(b *testing.B) {
			total := 0
			for b.Loop() {
				rows, err := conn.Query(ctx, "gen 100000", mode)
				require.NoError(b, err)
				for rows.Next() {
					total++
				}
				require.NoError(b, rows.Err())
			}
			require.Equal(b, 0, total%n)
			b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkAppendDataRow measures DataRow encoding alone.
func BenchmarkAppendDataRow(b *testing.B) {
	rows := newRows(rowsCols, rowsData, 3, "SELECT 3")
	defer rows.Close()
	batch := rows.batches[0]
	c := &conn{tctx: &types.Ctx{}}
	for _, tc := range []struct {
		name    string
		formats []int16
	}{{"text", nil}, {"binary", []int16{1, 1, 1, 1, 1, 1}}} {
		b.Run(tc.name, func(b *testing.B) {
			var out []byte
			var err error
			n := 0
			for b.Loop() {
				out, err = c.appendDataRow(out[:0], batch, n&1, rowsCols, tc.formats)
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
