package streamdiff

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/engine"
)

var flagReplay = flag.String("streamdiff.replay", "", "run a replay script (as printed by a failure) on a fresh engine and diff its last two queries")

// TestReplay is a tool, not a check: with -streamdiff.replay=FILE it runs
// a replay script (see replayScript).
func TestReplay(t *testing.T) {
	if *flagReplay == "" {
		t.Skip("no -streamdiff.replay script given")
	}
	replayScript(t, *flagReplay)
}

// TestRegressions replays every script under testdata/regress: minimized
// reproductions of engine bugs that are fixed. Open bugs live under
// testdata/repro and are run by hand with -streamdiff.replay.
func TestRegressions(t *testing.T) {
	files, err := filepath.Glob("testdata/regress/*.sql")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { replayScript(t, f) })
	}
}

// replayScript runs the script's statements (one per line, ending in ";";
// lines starting with -- are comments) on a fresh engine, then compares
// the results of the last two statements (the view and its batch query)
// and fails when they differ.
func replayScript(t *testing.T, path string) {
	src, err := os.ReadFile(path)
	require.NoError(t, err)
	var stmts []string
	for _, line := range strings.Split(string(src), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "--") {
			continue
		}
		stmts = append(stmts, strings.TrimSuffix(line, ";"))
	}
	require.GreaterOrEqual(t, len(stmts), 2, "a script ends with the view query and its batch query")
	ctx := context.Background()
	eng, err := engine.Open(ctx, engine.Options{})
	require.NoError(t, err)
	defer eng.Close()
	w, err := eng.Session(engine.DefaultUser, "sabot", nil)
	require.NoError(t, err)
	defer w.Close()
	rd, err := eng.Session(engine.DefaultUser, "sabot", nil)
	require.NoError(t, err)
	defer rd.Close()
	for _, s := range stmts[:len(stmts)-2] {
		res := runOurs(ctx, w, s)
		require.Empty(t, res.Code, "%s: %s", abbrev(s), res.Msg)
	}
	got := runOurs(ctx, rd, stmts[len(stmts)-2])
	want := runOurs(ctx, rd, stmts[len(stmts)-1])
	if d := Diff("batch", want, "view", got, 50); d != "" {
		t.Fatal(d)
	}
	t.Logf("view and batch query agree (%d rows)", len(got.Rows))
}
