package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DebianPackage names the package that provides the server binaries.
const DebianPackage = "postgresql-15"

// defaultBinDir is where Debian's postgresql-15 installs its binaries.
const defaultBinDir = "/usr/lib/postgresql/15/bin"

// startTimeout bounds StartT's whole start-up (initdb + first connection).
const startTimeout = 2 * time.Minute

// Server is a running throwaway PostgreSQL server.
type Server struct {
	dir      string // owned root: data/, sock/, postgres.log
	dataDir  string
	sockDir  string
	logPath  string
	binDir   string
	port     int
	asUser   string // "" or "postgres" when running under euid 0
	ownsDir  bool   // dir was created by Start and is removed by Stop
	cmd      *exec.Cmd
	exited   chan struct{} // closed when cmd has been waited for
	waitErr  error
	stopOnce sync.Once
	stopErr  error
}

// FindBinDir returns the directory holding initdb, postgres and pg_ctl, or
// an error naming the Debian package to install.
func FindBinDir() (string, error) {
	var candidates []string
	candidates = append(candidates, defaultBinDir)
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if d := strings.TrimSpace(string(out)); d != "" {
			candidates = append(candidates, d)
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		candidates = append(candidates, filepath.Dir(p))
	}
	for _, d := range candidates {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) && isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", fmt.Errorf("pgtest: PostgreSQL 15 server binaries (initdb, postgres, pg_ctl) not found in %s, `pg_config --bindir` or PATH: install the Debian package %s (apt-get install %s)",
		defaultBinDir, DebianPackage, DebianPackage)
}

func isExec(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// Start initializes a cluster under dir and starts a server on a free port,
// returning once it accepts connections. An empty dir means a new temporary
// directory, removed by Stop; a given dir must be empty or absent, and is
// left in place by Stop except for what Start created inside it. Under euid 0
// the server runs as the `postgres` user, which must be able to reach dir.
func Start(ctx context.Context, dir string) (*Server, error) {
	binDir, err := FindBinDir()
	if err != nil {
		return nil, err
	}
	s := &Server{binDir: binDir}
	if os.Geteuid() == 0 {
		s.asUser = "postgres"
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "pgtest-")
		if err != nil {
			return nil, fmt.Errorf("pgtest: temp dir: %w", err)
		}
		dir, s.ownsDir = d, true
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pgtest: create %s: %w", dir, err)
	}
	s.dir = dir
	s.dataDir = filepath.Join(dir, "data")
	s.sockDir = filepath.Join(dir, "sock")
	s.logPath = filepath.Join(dir, "postgres.log")
	if err := s.start(ctx); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

// StartT starts a server for the test and stops it in t.Cleanup. Missing
// binaries or a failed start fail the test (never skip it).
func StartT(t testing.TB) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	s, err := Start(ctx, "")
	if err != nil {
		t.Fatalf("pgtest: cannot start PostgreSQL (CI installs the Debian package %s): %v", DebianPackage, err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("pgtest: stop: %v", err)
		}
	})
	return s
}

func (s *Server) start(ctx context.Context) error {
	if err := os.MkdirAll(s.sockDir, 0o700); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	if s.asUser != "" {
		if err := chownTree(s.dir, s.asUser); err != nil {
			return err
		}
	}
	initOut, err := s.command(ctx, filepath.Join(s.binDir, "initdb"),
		"-D", s.dataDir, "--locale=C", "-E", "UTF8", "-A", "trust", "-U", "postgres",
		"--no-sync", "--no-instructions").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgtest: initdb failed: %w\n%s", err, tail(initOut))
	}
	// The free port can be taken by someone else before postgres binds
	// it: retry a few times on "address in use".
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		lastErr = s.launch(ctx)
		if lastErr == nil || !strings.Contains(s.Log(), "could not bind") {
			return lastErr
		}
		if err := os.Remove(s.logPath); err != nil {
			return fmt.Errorf("pgtest: %w (and %v)", lastErr, err)
		}
	}
	return lastErr
}

// launch starts postgres on a free port and waits until it accepts
// connections.
func (s *Server) launch(ctx context.Context) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	s.port = port
	s.exited = make(chan struct{})
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pgtest: log file: %w", err)
	}
	// The server outlives ctx (which only bounds start-up), so it is not
	// started with CommandContext.
	cmd := s.command(context.Background(), filepath.Join(s.binDir, "postgres"),
		"-D", s.dataDir, "-p", strconv.Itoa(port), "-k", s.sockDir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off",
		"-c", "max_connections=600")
	cmd.Stdout = logf
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	s.cmd = cmd
	exited := s.exited
	go func() {
		s.waitErr = cmd.Wait()
		logf.Close()
		close(exited)
	}()
	return s.waitReady(ctx)
}

// command builds a command that runs as s.asUser when set.
func (s *Server) command(ctx context.Context, bin string, args ...string) *exec.Cmd {
	if s.asUser != "" {
		return exec.CommandContext(ctx, "runuser", append([]string{"-u", s.asUser, "--", bin}, args...)...)
	}
	return exec.CommandContext(ctx, bin, args...)
}

func (s *Server) waitReady(ctx context.Context) error {
	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	var lastErr error
	for {
		attemptCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		conn, err := pgx.Connect(attemptCtx, s.DSN())
		cancel()
		if err == nil {
			return conn.Close(ctx)
		}
		lastErr = err
		select {
		case <-s.exited:
			return fmt.Errorf("pgtest: postgres exited during start-up (%v)\n%s", s.waitErr, s.Log())
		case <-ctx.Done():
			return fmt.Errorf("pgtest: postgres not accepting connections: %w (last error: %v)\n%s", ctx.Err(), lastErr, s.Log())
		case <-ticker.C:
		}
	}
}

// DSN is the connection string for the postgres database as the postgres
// superuser.
func (s *Server) DSN() string { return s.DSNFor("postgres") }

// DSNFor is the connection string for database db.
func (s *Server) DSNFor(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// Port is the server's TCP port on 127.0.0.1.
func (s *Server) Port() int { return s.port }

// Dir is the directory the server owns.
func (s *Server) Dir() string { return s.dir }

// Log returns the tail of the server's log (stderr).
func (s *Server) Log() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return ""
	}
	return tail(b)
}

// Stop shuts the server down immediately and removes its files. It is
// idempotent.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() { s.stopErr = s.stop() })
	return s.stopErr
}

func (s *Server) stop() error {
	var errs []error
	if s.cmd != nil && s.cmd.Process != nil {
		select {
		case <-s.exited:
		default:
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			out, err := s.command(ctx, filepath.Join(s.binDir, "pg_ctl"), "stop", "-D", s.dataDir, "-m", "immediate", "-w").CombinedOutput()
			cancel()
			if err != nil {
				// Last resort: the server (or runuser) process itself.
				_ = s.cmd.Process.Kill()
				errs = append(errs, fmt.Errorf("pgtest: pg_ctl stop: %w: %s", err, bytes.TrimSpace(out)))
			}
			select {
			case <-s.exited:
			case <-time.After(30 * time.Second):
				_ = s.cmd.Process.Kill()
				<-s.exited
			}
		}
	}
	if s.ownsDir {
		if err := os.RemoveAll(s.dir); err != nil {
			errs = append(errs, fmt.Errorf("pgtest: remove %s: %w", s.dir, err))
		}
	} else if s.dir != "" {
		for _, p := range []string{s.dataDir, s.sockDir, s.logPath} {
			if err := os.RemoveAll(p); err != nil {
				errs = append(errs, fmt.Errorf("pgtest: remove %s: %w", p, err))
			}
		}
	}
	return errors.Join(errs...)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func chownTree(dir, username string) error {
	u, err := user.Lookup(username)
	if err != nil {
		return fmt.Errorf("pgtest: running as root needs the %q user (created by the %s package): %w", username, DebianPackage, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("pgtest: bad uid/gid for %q: %q/%q", username, u.Uid, u.Gid)
	}
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(p, uid, gid); err != nil {
			return fmt.Errorf("pgtest: chown %s: %w", p, err)
		}
		return nil
	})
}

// tail returns at most the last 4 KiB of b.
func tail(b []byte) string {
	const max = 4096
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}
