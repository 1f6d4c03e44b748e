package slt

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/engine"
	"github.com/sabotsql/sabotsql/pgwire"
	"github.com/sabotsql/sabotsql/sqllogictest"
)

// streamingFiles are the RisingWave streaming files issue #5 names.
var streamingFiles = []string{
	"basic.slt", "aggregate/basic_agg.slt", "aggregate/count_star.slt", "aggregate/boolean.slt",
	"append_only.slt", "append_only_agg.slt", "time_window.slt", "mv_on_mv.slt",
	"join/join.slt.part", "group_top_n/group_top_1.slt", "order_by.slt",
	"nexmark_snapshot.slt", "nexmark_upstream.slt",
}

// serveEngine starts an engine behind the PostgreSQL wire protocol on a
// free loopback port and returns its address.
func serveEngine(t *testing.T) string {
	ctx, cancel := context.WithCancel(context.Background())
	eng, err := engine.Open(ctx, engine.Options{})
	require.NoError(t, err)
	srv, err := pgwire.New(pgwire.Config{}, eng)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ctx, ln)
	}()
	t.Cleanup(func() {
		cancel()
		_ = srv.Close()
		<-done
		_ = eng.Close()
	})
	return fmt.Sprintf("postgres://sabot@%s/sabotsql?sslmode=disable", ln.Addr())
}

// TestRisingWaveStreaming runs RisingWave's streaming files through the wire
// protocol, each file against a fresh server, comparing decimals and times
// by value (RisingWave prints them in its own formats). Records listed in
// known_failures.txt are expected to fail, each with its reason.
func TestRisingWaveStreaming(t *testing.T) {
	root := repoRoot(t)
	kf, err := sqllogictest.LoadKnownFailures(filepath.Join(root, "sqllogictest", "known_failures.txt"))
	require.NoError(t, err)
	var total sqllogictest.Summary
	var fails []string
	for _, f := range streamingFiles {
		path := corpus(t, "risingwave-slt/e2e_test/streaming/"+f)
		drv, err := sqllogictest.NewPGDriver(serveEngine(t))
		require.NoError(t, err)
		var out strings.Builder
		sum, err := sqllogictest.Run(context.Background(), sqllogictest.Options{
			Driver:        drv,
			Jobs:          1,
			KnownFailures: kf,
			ValueCompare:  true,
		}, path, &out)
		require.NoError(t, err)
		total.Passed += sum.Passed
		total.Failed += sum.Failed
		total.KnownFailures += sum.KnownFailures
		if sum.Failed > 0 {
			fails = append(fails, failures(out.String()))
		}
	}
	line := fmt.Sprintf("corpus risingwave streaming (over pgwire): %d passed, %d failed, %d known failures",
		total.Passed, total.Failed, total.KnownFailures)
	t.Log(line)
	fmt.Println(line)
	if total.Failed > 0 {
		t.Errorf("unexpected failures:\n%s", strings.Join(fails, "\n"))
	}
}

// TestOwnStreamingFiles runs our streaming sqllogictest files
// (tests/slt/streaming) on the embedded engine.
func TestOwnStreamingFiles(t *testing.T) {
	runCorpus(t, "sabotsql streaming", []string{filepath.Join(repoRoot(t), "tests", "slt", "streaming")}, 1.0)
}
