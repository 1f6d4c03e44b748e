package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// benchRows and benchPayload size the data: SABOTSQL_DUR_ROWS and
// SABOTSQL_DUR_PAYLOAD (bytes of padding per row) scale it up, e.g. 10M
// rows of 100 bytes for about 1 GiB of table data.
var benchRows, benchPayload = envInt("SABOTSQL_DUR_ROWS", 200_000), envInt("SABOTSQL_DUR_PAYLOAD", 0)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func dirBytes(b *testing.B, dir string) int64 {
	var n int64
	err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

func benchLoad(b *testing.B, dir string) (*Engine, *Session) {
	e, err := Open(context.Background(), Options{DataDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	s, err := e.Session("sabot", "sabot", nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	stmts := []string{
		"CREATE TABLE t (id bigint, g int, payload text)",
		"CREATE MATERIALIZED VIEW mv AS SELECT g, count(*) AS n FROM t GROUP BY g",
	}
	for lo := 1; lo <= benchRows; lo += 1_000_000 {
		hi := min(lo+999_999, benchRows)
		stmts = append(stmts, fmt.Sprintf("INSERT INTO t SELECT i, i %% 100, repeat('x', %d) || 'payload-' || i FROM generate_series(%d, %d) AS i", benchPayload, lo, hi))
	}
	for _, q := range stmts {
		if _, _, _, err := s.Exec(ctx, q); err != nil {
			b.Fatal(q, err)
		}
	}
	return e, s
}

// BenchmarkCheckpoint measures a checkpoint of a 200k-row table and the
// write amplification (bytes on disk written by WAL + checkpoint per byte
// of checkpointed table data).
func BenchmarkCheckpoint(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		e, _ := benchLoad(b, dir)
		walBytes := dirBytes(b, filepath.Join(dir, "wal"))
		b.StartTimer()
		start := time.Now()
		if err := e.Checkpoint(context.Background()); err != nil {
			b.Fatal(err)
		}
		el := time.Since(start)
		b.StopTimer()
		ck := dirBytes(b, filepath.Join(dir, "data"))
		b.ReportMetric(float64(benchRows)/el.Seconds(), "rows/s")
		b.ReportMetric(float64(ck)/float64(1<<20)/el.Seconds(), "ckpt-MiB/s")
		b.ReportMetric(float64(walBytes+ck)/float64(ck), "write-amp")
		e.Close()
		b.StartTimer()
	}
}

// BenchmarkRecovery measures Open after a crash (WAL replay) and after a
// clean shutdown (checkpoint load), until the view is readable.
func BenchmarkRecovery(b *testing.B) {
	for _, mode := range []string{"wal", "checkpoint"} {
		b.Run(mode, func(b *testing.B) {
			dir := b.TempDir()
			e, _ := benchLoad(b, dir)
			if mode == "wal" {
				e.crashForTest()
			} else if err := e.Close(); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				e, err := Open(context.Background(), Options{DataDir: dir})
				if err != nil {
					b.Fatal(err)
				}
				s, err := e.Session("sabot", "sabot", nil)
				if err != nil {
					b.Fatal(err)
				}
				_, rows, _, err := s.Exec(context.Background(), "SELECT sum(n) FROM mv")
				if err != nil || len(rows) != 1 {
					b.Fatal(err)
				}
				b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms-to-readable-view")
				b.StopTimer()
				e.crashForTest() // keep the on-disk state identical across iterations
				b.StartTimer()
			}
			b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
