// Package servertest runs the sabotsql binary as a child process for the
// integration tests that need a real server process (crash recovery under
// SIGKILL, memory bounds measured as the process's peak RSS): it builds the
// binary, starts `sabotsql serve` on a free loopback port, follows its log
// and stops or kills it.
//
// Invariants:
//  1. Start returns only after the server logged that it listens; a server
//     that exits or stays silent for a minute fails the test with its log.
//  2. Every log line is passed to the caller's OnLine (if any) in order,
//     from one goroutine, before Start's readiness depends on it.
//  3. Done is closed once the process has exited and been reaped.
package servertest

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

// Build compiles cmd/sabotsql into dir (with the race detector when race is
// set) and returns the binary's path.
func Build(t testing.TB, dir string, race bool) string {
	t.Helper()
	bin := filepath.Join(dir, "sabotsql")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, "github.com/sabotsql/sabotsql/cmd/sabotsql")...).CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// FreeAddr returns a loopback address whose port was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// Server is one run of `sabotsql serve`.
type Server struct {
	Cmd  *exec.Cmd
	Addr string
	// Done is closed when the process has exited.
	Done chan struct{}

	mu    sync.Mutex
	lines []string // the last lines of its log
}

// Start runs `bin serve --listen <free address> args…` and waits until it
// logs that it listens. onLine, when not nil, sees every log line.
func Start(t testing.TB, bin string, args []string, onLine func(string)) *Server {
	t.Helper()
	s := &Server{Addr: FreeAddr(t), Done: make(chan struct{})}
	s.Cmd = exec.Command(bin, append([]string{"serve", "--listen", s.Addr}, args...)...)
	stderr, err := s.Cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, s.Cmd.Start())
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
			s.mu.Unlock()
			if onLine != nil {
				onLine(line)
			}
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
		_ = s.Cmd.Wait()
		close(s.Done)
	}()
	select {
	case ok := <-ready:
		require.True(t, ok, "server exited before listening:\n%s", s.Log())
	case <-time.After(60 * time.Second):
		_ = s.Cmd.Process.Kill()
		t.Fatalf("server did not start:\n%s", s.Log())
	}
	return s
}

// Log returns the last lines of the server's log.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.lines, "\n")
}

// Alive reports whether the process still runs.
func (s *Server) Alive() bool {
	select {
	case <-s.Done:
		return false
	default:
		return true
	}
}

// Kill sends sig and waits for the process to exit.
func (s *Server) Kill(sig syscall.Signal) {
	_ = s.Cmd.Process.Signal(sig)
	<-s.Done
}

// Stop ends the server with SIGTERM (a clean shutdown) and waits for it,
// killing it if it takes more than a minute.
func (s *Server) Stop() {
	if !s.Alive() {
		return
	}
	_ = s.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.Done:
	case <-time.After(60 * time.Second):
		s.Kill(syscall.SIGKILL)
	}
}

// Connect opens a connection as the default user.
func (s *Server) Connect(ctx context.Context) (*pgx.Conn, error) {
	host, port, _ := net.SplitHostPort(s.Addr)
	return pgx.Connect(ctx, fmt.Sprintf("host=%s port=%s user=sabot dbname=sabot sslmode=disable", host, port))
}

// ConnectReady connects to a server that logged "listening": the log line
// precedes the accept loop by a moment, so a refused connection is retried
// while the process lives.
func (s *Server) ConnectReady(ctx context.Context) (*pgx.Conn, error) {
	for i := 0; ; i++ {
		c, err := s.Connect(ctx)
		if err == nil || i == 500 || !strings.Contains(err.Error(), "connection refused") {
			return c, err
		}
		select {
		case <-s.Done:
			return nil, err
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// PeakRSS is the process's peak resident set size (VmHWM) in bytes.
func (s *Server) PeakRSS(t testing.TB) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.Cmd.Process.Pid))
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", s.Cmd.Process.Pid)
	return 0
}
