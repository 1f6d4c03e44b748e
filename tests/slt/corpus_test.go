package slt

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/api"
	"github.com/sabotsql/sabotsql/engine"
	"github.com/sabotsql/sabotsql/sqllogictest"
)

// repoRoot walks up to the directory holding go.mod.
func repoRoot(t *testing.T) string {
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, parent, dir, "go.mod not found")
		dir = parent
	}
}

func openEmbedded(ctx context.Context) (api.Engine, func() error, error) {
	e, err := engine.Open(ctx, engine.Options{})
	if err != nil {
		return nil, nil, err
	}
	return e, e.Close, nil
}

// runCorpus runs paths and requires no unexpected failure; it logs the pass
// counts so CI output shows them.
func runCorpus(t *testing.T, name string, paths []string, minPassRate float64) {
	root := repoRoot(t)
	kf, err := sqllogictest.LoadKnownFailures(filepath.Join(root, "sqllogictest", "known_failures.txt"))
	require.NoError(t, err)
	var out strings.Builder
	sum, err := sqllogictest.Run(context.Background(), sqllogictest.Options{
		Driver:        sqllogictest.NewEmbeddedDriver(openEmbedded),
		Jobs:          2,
		KnownFailures: kf,
	}, paths, &out)
	require.NoError(t, err)
	total := sum.Passed + sum.Failed + sum.KnownFailures
	rate := float64(sum.Passed) / float64(total)
	line := fmt.Sprintf("corpus %s: %d passed, %d failed, %d known failures, %d skipped (%.2f%% of run records pass)",
		name, sum.Passed, sum.Failed, sum.KnownFailures, sum.Skipped, 100*rate)
	t.Log(line)
	fmt.Println(line)
	if sum.Failed > 0 {
		t.Errorf("unexpected failures:\n%s", failures(out.String()))
	}
	require.GreaterOrEqual(t, rate, minPassRate)
}

func failures(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "FAIL") || strings.HasPrefix(l, "    ") {
			keep = append(keep, l)
		}
	}
	if len(keep) > 200 {
		keep = keep[:200]
	}
	return strings.Join(keep, "\n")
}

func corpus(t *testing.T, rel ...string) []string {
	root := repoRoot(t)
	var out []string
	for _, r := range rel {
		p := filepath.Join(root, "..", "shared", "corpora", r)
		_, err := os.Stat(p)
		require.NoError(t, err, "corpus %s missing (the repo expects ../shared beside it)", p)
		out = append(out, p)
	}
	return out
}

func TestSQLiteSelect(t *testing.T) {
	runCorpus(t, "sqlite select1-5", corpus(t,
		"sqlite-slt/select1.test", "sqlite-slt/select2.test", "sqlite-slt/select3.test",
		"sqlite-slt/select4.test", "sqlite-slt/select5.test"), 1.0)
}

func TestSQLiteEvidence(t *testing.T) {
	runCorpus(t, "sqlite evidence", corpus(t, "sqlite-slt/evidence"), 0.8)
}

func TestSQLiteRandom(t *testing.T) {
	if testing.Short() {
		t.Skip("long corpus: run without -short")
	}
	runCorpus(t, "sqlite random", corpus(t, "sqlite-slt/random"), 0.995)
}

// TestRisingWaveBatch runs the RisingWave e2e files that need only features
// that have landed (the list grows with the streaming work).
func TestRisingWaveBatch(t *testing.T) {
	runCorpus(t, "risingwave batch", corpus(t, "risingwave-slt/e2e_test/batch"), 1.0)
}

// TestOwnFiles runs our own sqllogictest files (tests/slt/testdata), whose
// expected results were produced by PostgreSQL 15 (pg_compat).
func TestOwnFiles(t *testing.T) {
	runCorpus(t, "sabotsql pg_compat", []string{filepath.Join(repoRoot(t), "tests", "slt", "testdata")}, 0.99)
}
