package bigstate

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// server is one run of the sabotsql binary.
type server struct {
	cmd   *exec.Cmd
	addr  string
	dir   string
	mu    sync.Mutex
	lines []string // the last lines of its log
	all   []string // lines matching keep
	keep  string
	more  chan struct{} // closed and replaced when a kept line arrives
	done  chan struct{}
}

func (s *server) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.lines, "\n")
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
		case <-s.done:
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
		binPath = filepath.Join(binDir, "sabotsql")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/sabotsql/sabotsql/cmd/sabotsql").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %w: %s", err, out)
		}
	})
	require.NoError(t, binErr)
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// start runs `sabotsql serve` with args on a fresh data directory and waits
// for its "listening" log line. Log lines containing keep are all kept.
func start(t *testing.T, keep string, args ...string) *server {
	t.Helper()
	s := &server{addr: freeAddr(t), dir: filepath.Join(t.TempDir(), "data"), keep: keep, more: make(chan struct{}), done: make(chan struct{})}
	s.cmd = exec.Command(binary(t), append([]string{"serve", "--data-dir", s.dir, "--listen", s.addr, "--log-level", "info"}, args...)...)
	stderr, err := s.cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, s.cmd.Start())
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.lines = append(s.lines, line)
			if len(s.lines) > 200 {
				s.lines = s.lines[1:]
			}
			if keep != "" && strings.Contains(line, keep) {
				s.all = append(s.all, line)
				close(s.more)
				s.more = make(chan struct{})
			}
			s.mu.Unlock()
			if !signalled && strings.Contains(line, "sabotsql listening") {
				signalled = true
				ready <- true
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		if !signalled {
			ready <- false
		}
	}()
	go func() {
		_ = s.cmd.Wait()
		close(s.done)
	}()
	select {
	case ok := <-ready:
		require.True(t, ok, "server exited before listening:\n%s", s.log())
	case <-time.After(60 * time.Second):
		_ = s.cmd.Process.Kill()
		t.Fatalf("server did not start:\n%s", s.log())
	}
	t.Cleanup(func() { s.stop() })
	return s
}

// stop ends the server with SIGTERM (a clean shutdown) and waits for it.
func (s *server) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(60 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// alive reports whether the process still runs.
func (s *server) alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// connect opens a connection, retrying while the listener comes up (the
// log line precedes the accept loop by a moment).
func (s *server) connect(t *testing.T, ctx context.Context) *pgx.Conn {
	t.Helper()
	host, port, _ := net.SplitHostPort(s.addr)
	dsn := fmt.Sprintf("host=%s port=%s user=sabot dbname=sabot sslmode=disable", host, port)
	for i := 0; ; i++ {
		c, err := pgx.Connect(ctx, dsn)
		if err == nil {
			t.Cleanup(func() { c.Close(context.Background()) })
			return c
		}
		if i == 500 || !strings.Contains(err.Error(), "connection refused") || !s.alive() {
			t.Fatalf("connect: %v\n%s", err, s.log())
		}
		select {
		case <-s.done:
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// peakRSS is the server's peak resident set size (VmHWM) in bytes.
func (s *server) peakRSS(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", s.cmd.Process.Pid)
	return 0
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
