package bigstate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/internal/servertest"
)

// server is one run of the sabotsql binary on its own data directory,
// keeping every log line that contains keep.
type server struct {
	*servertest.Server
	dir  string
	keep string
	mu   sync.Mutex
	all  []string      // lines matching keep
	more chan struct{} // closed and replaced when a kept line arrives
}

// kept returns the log lines containing the server's keep string.
func (s *server) kept() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.all...)
}

// waitKept waits until n log lines containing the keep string have been
// read (the server writes them before it answers, but the log is read
// asynchronously), the server exits, or a minute passes.
func (s *server) waitKept(n int) []string {
	deadline := time.After(time.Minute)
	for {
		s.mu.Lock()
		got, ch := len(s.all), s.more
		s.mu.Unlock()
		if got >= n {
			return s.kept()
		}
		select {
		case <-ch:
		case <-s.Done:
			return s.kept()
		case <-deadline:
			return s.kept()
		}
	}
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

// binary builds the sabotsql binary once per test process.
func binary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "bigstate-bin")
		if binErr != nil {
			return
		}
		binPath = servertest.Build(t, binDir, false)
	})
	require.NoError(t, binErr)
	require.NotEmpty(t, binPath, "the build failed in an earlier test")
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// start runs `sabotsql serve` with args on a fresh data directory and waits
// for its "listening" log line. Log lines containing keep are all kept.
func start(t *testing.T, keep string, args ...string) *server {
	t.Helper()
	s := &server{dir: filepath.Join(t.TempDir(), "data"), keep: keep, more: make(chan struct{})}
	s.Server = servertest.Start(t, binary(t), append([]string{"--data-dir", s.dir, "--log-level", "info"}, args...), func(line string) {
		if keep == "" || !strings.Contains(line, keep) {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.all = append(s.all, line)
		close(s.more)
		s.more = make(chan struct{})
	})
	t.Cleanup(s.Stop)
	return s
}

// connect opens a connection, retrying while the listener comes up.
func (s *server) connect(t *testing.T, ctx context.Context) *pgx.Conn {
	t.Helper()
	c, err := s.ConnectReady(ctx)
	if err != nil {
		t.Fatalf("connect: %v\n%s", err, s.Log())
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// dirBytes is the total size of the files under dir whose directory name
// ends with suffix.
func dirBytes(t *testing.T, dir, suffix string) int64 {
	t.Helper()
	var n int64
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if !info.IsDir() && strings.HasSuffix(filepath.Dir(p), suffix) {
			n += info.Size()
		}
		return nil
	})
	require.NoError(t, err)
	return n
}
