package streamdiff

import (
	"context"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/engine"
)

var flagReplay = flag.String("streamdiff.replay", "", "run a replay script (as printed by a failure) on a fresh engine and diff its last two queries")

// TestReplay is a tool, not a check: with -streamdiff.replay=FILE it runs
// the script's statements (one per line, ending in ";") on a fresh engine,
// then compares the last two statements' results (the view and its batch
// query) and fails when they differ.
func TestReplay(t *testing.T) {
	if *flagReplay == "" {
		t.Skip("no -streamdiff.replay script given")
	}
	src, err := os.ReadFile(*flagReplay)
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
