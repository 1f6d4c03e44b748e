package sqllogictest

import (
	"bytes"
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/internal/pgtest"
)

// TestSQLiteSelectCorpusAgainstPostgres validates the runner (parser,
// rendering, sorting, hashing) by running sqlite's select1-5.test against a
// real PostgreSQL 15: every record not skipped for PostgreSQL must pass.
func TestSQLiteSelectCorpusAgainstPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ~70k records against PostgreSQL")
	}
	srv := pgtest.StartT(t)
	// select5's joins of up to 64 tables spend ~1 s each in PostgreSQL's
	// planner; a small genetic-optimizer budget keeps the file fast (the
	// tables hold 10 rows, so plan quality does not matter).
	drv, err := NewPGDriver(srv.DSN() + "&options=" + strings.ReplaceAll(url.QueryEscape("-c geqo_threshold=6 -c geqo_pool_size=8 -c geqo_generations=8"), "+", "%20"))
	require.NoError(t, err)
	dir := filepath.Join(corpusDir(t), "sqlite-slt")
	var paths []string
	for i := 1; i <= 5; i++ {
		paths = append(paths, filepath.Join(dir, "select"+string(rune('0'+i))+".test"))
	}
	var out bytes.Buffer
	sum, err := Run(context.Background(), Options{Driver: drv, Jobs: 2}, paths, &out)
	require.NoError(t, err)
	t.Logf("%s", tailLines(out.String(), 8))
	require.Zero(t, sum.Failed, "failures:\n%s", headLines(out.String(), 60))
	require.Equal(t, 5, sum.Files)
	// Every statement and query record of the five files ran (none of
	// them is conditional): 1031+1031+3351+3857+1436.
	require.Equal(t, 10706, sum.Passed)
	require.Zero(t, sum.Skipped)
	require.Equal(t, "10706 passed, 0 failed", tailLines(out.String(), 1))
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func headLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}
