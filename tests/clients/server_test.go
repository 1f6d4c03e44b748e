package clients

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/api"
	"github.com/sabotsql/sabotsql/engine"
	"github.com/sabotsql/sabotsql/pgwire"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Password is the default user's password on the SCRAM server.
const scramPassword = "s3cr3t-Pässword"

// user is the engine's default superuser.
const user = engine.DefaultUser

// server is one running engine + pgwire server on a loopback port.
type server struct {
	host  string
	port  int
	probe *probe
}

// startServer starts an in-memory engine behind a pgwire server on a free
// loopback port; with password set, clients must use SCRAM-SHA-256.
func startServer(t *testing.T, password string) *server {
	t.Helper()
	ctx := context.Background()
	opts := engine.Options{}
	if password != "" {
		opts.Password = password
		opts.HashPassword = pgwire.NewSCRAMVerifier
	}
	eng, err := engine.Open(ctx, opts)
	require.NoError(t, err)
	pr := newProbe(eng)
	log := slog.New(slog.NewTextHandler(&testLogWriter{t: t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := pgwire.New(pgwire.Config{PasswordConfigured: password != "", Logger: log}, pr)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		cancel()
		if err := <-done; err != nil && !errors.Is(err, pgwire.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
		require.NoError(t, eng.Close())
	})
	addr := ln.Addr().(*net.TCPAddr)
	return &server{host: "127.0.0.1", port: addr.Port, probe: pr}
}

// testLogWriter sends the server's warnings to the test log.
type testLogWriter struct {
	mu sync.Mutex
	t  *testing.T
}

func (w *testLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// cancelMarker is the alias that marks client's long query; the probe
// reports when a statement holding it starts executing. The closing "_q"
// keeps one client's marker from being a prefix of another's.
func cancelMarker(client string) string { return "cancel_" + client + "_q" }

// longQuery is the statement each client cancels: it would run for hours.
func longQuery(client string) string {
	return fmt.Sprintf("SELECT count(*) FROM generate_series(1, 1000000000000) AS %s", cancelMarker(client))
}

// probe wraps an api.Engine and reports when a statement whose text
// contains a registered marker starts executing.
type probe struct {
	api.Engine
	mu      sync.Mutex
	waiters map[string]chan struct{}
}

func newProbe(e api.Engine) *probe {
	return &probe{Engine: e, waiters: make(map[string]chan struct{})}
}

// started returns a channel closed once a statement containing marker has
// been handed to a session for execution.
func (p *probe) started(marker string) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	ch, ok := p.waiters[marker]
	if !ok {
		ch = make(chan struct{})
		p.waiters[marker] = ch
	}
	return ch
}

func (p *probe) saw(sql string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for m, ch := range p.waiters {
		if strings.Contains(sql, m) {
			select {
			case <-ch:
			default:
				close(ch)
			}
		}
	}
}

func (p *probe) NewSession(ctx context.Context, user, database string, params map[string]string) (api.Session, error) {
	s, err := p.Engine.NewSession(ctx, user, database, params)
	if err != nil {
		return nil, err
	}
	return &probeSession{Session: s, p: p}, nil
}

type probeSession struct {
	api.Session
	p *probe
}

func (s *probeSession) Execute(ctx context.Context, pr api.Prepared, params []types.Datum) (api.Result, error) {
	s.p.saw(pr.SQL())
	return s.Session.Execute(ctx, pr, params)
}

func (s *probeSession) ExecSimple(ctx context.Context, sql string, fn func(api.Result) error) error {
	s.p.saw(sql)
	return s.Session.ExecSimple(ctx, sql, fn)
}
