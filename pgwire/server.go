package pgwire

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sabotsql/sabotsql/api"
)

// Defaults for Config fields left zero.
const (
	DefaultMaxMessageSize = 64 << 20
	DefaultWriteTimeout   = 60 * time.Second
	DefaultAuthTimeout    = 60 * time.Second
	DefaultListen         = "127.0.0.1:5432"
)

// ServerVersion is the server_version reported to clients. Drivers parse the
// leading "15.0" and enable features accordingly.
const ServerVersion = "15.0 (SabotSQL)"

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("pgwire: server closed")

// Config configures a Server.
type Config struct {
	// Listen is the TCP address for ListenAndServe (default 127.0.0.1:5432).
	Listen string
	// TLSConfig, when set, lets clients upgrade with SSLRequest.
	TLSConfig *tls.Config
	// RequireTLS rejects clients that do not upgrade to TLS (needs TLSConfig).
	RequireTLS bool
	// PasswordConfigured tells the server that the engine requires passwords
	// (Engine.Authenticate returns verifiers). Without it the server refuses
	// to listen on a non-loopback address unless Insecure is set.
	PasswordConfigured bool
	// Insecure allows listening on non-loopback addresses without passwords.
	Insecure bool
	// MaxMessageSize bounds a client message body (default 64 MiB); larger
	// messages end the connection with 54000.
	MaxMessageSize int
	// WriteTimeout bounds each write to a client (default 60s).
	WriteTimeout time.Duration
	// AuthTimeout bounds the startup and authentication phase (default 60s).
	AuthTimeout time.Duration
	// MaxConnections bounds concurrent client sessions (0: no limit);
	// clients beyond it get 53300 too_many_connections after startup.
	// Cancel requests are always served.
	MaxConnections int
	// Logger receives connection and error logs (default slog.Default()).
	Logger *slog.Logger
}

// Server is a PostgreSQL wire-protocol server in front of an api.Engine.
// Its methods are safe for concurrent use.
type Server struct {
	cfg    Config
	engine api.Engine
	log    *slog.Logger

	nextPID atomic.Uint32
	closing atomic.Bool

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[uint32]*conn // by process id
	wg        sync.WaitGroup   // connection goroutines
}

// New returns a Server for engine. It does not listen yet.
func New(cfg Config, engine api.Engine) (*Server, error) {
	if engine == nil {
		return nil, errors.New("pgwire: nil engine")
	}
	if cfg.MaxMessageSize <= 0 {
		cfg.MaxMessageSize = DefaultMaxMessageSize
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.AuthTimeout <= 0 {
		cfg.AuthTimeout = DefaultAuthTimeout
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RequireTLS && cfg.TLSConfig == nil {
		return nil, errors.New("pgwire: RequireTLS needs a TLSConfig")
	}
	return &Server{
		cfg:       cfg,
		engine:    engine,
		log:       cfg.Logger,
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[uint32]*conn),
	}, nil
}

// checkAddr refuses non-loopback addresses when no password is configured.
func (s *Server) checkAddr(addr net.Addr) error {
	if s.cfg.PasswordConfigured || s.cfg.Insecure {
		return nil
	}
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return nil // unix sockets and in-memory listeners are local
	}
	if tcp.IP != nil && tcp.IP.IsLoopback() {
		return nil
	}
	return fmt.Errorf("pgwire: refusing to listen on non-loopback address %s without a password; "+
		"configure a password or set Insecure", addr)
}

// ListenAndServe listens on Config.Listen and serves until ctx is done or
// Shutdown is called.
func (s *Server) ListenAndServe(ctx context.Context) error {
	host, _, err := net.SplitHostPort(s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("pgwire: bad listen address %q: %w", s.cfg.Listen, err)
	}
	if !s.cfg.PasswordConfigured && !s.cfg.Insecure {
		ip := net.ParseIP(host)
		if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("pgwire: refusing to listen on non-loopback address %s without a password; "+
				"configure a password or set Insecure", s.cfg.Listen)
		}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("pgwire: listen: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve accepts connections on ln until ctx is done (which closes every
// connection at once) or Shutdown is called (graceful). It always closes ln
// and returns ErrServerClosed after a shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if err := s.checkAddr(ln.Addr()); err != nil {
		_ = ln.Close()
		return err
	}
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		_ = ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()

	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()

	var tempDelay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() || ctx.Err() != nil {
				s.removeListener(ln)
				if ctx.Err() != nil {
					s.closeAll(errAdminShutdown)
				}
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if tempDelay == 0 {
					tempDelay = 5 * time.Millisecond
				} else if tempDelay *= 2; tempDelay > time.Second {
					tempDelay = time.Second
				}
				t := time.NewTimer(tempDelay)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
				}
				continue
			}
			s.removeListener(ln)
			return fmt.Errorf("pgwire: accept: %w", err)
		}
		tempDelay = 0
		// Connections outlive Serve's return during a graceful shutdown;
		// they end through kill (with a proper cause) instead.
		c := s.newConn(context.WithoutCancel(ctx), nc)
		if c == nil {
			continue
		}
		go c.serve()
	}
}

func (s *Server) removeListener(ln net.Listener) {
	s.mu.Lock()
	delete(s.listeners, ln)
	s.mu.Unlock()
	_ = ln.Close()
}

// newConn registers a connection, or closes nc when shutting down.
func (s *Server) newConn(ctx context.Context, nc net.Conn) *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		_ = nc.Close()
		return nil
	}
	pid := s.nextPID.Add(1)
	for pid == 0 || s.conns[pid] != nil {
		pid = s.nextPID.Add(1)
	}
	c := newConn(s, ctx, nc, pid)
	c.overLimit = s.cfg.MaxConnections > 0 && len(s.conns) >= s.cfg.MaxConnections
	s.conns[pid] = c
	s.wg.Add(1)
	return c
}

func (s *Server) removeConn(c *conn) {
	s.mu.Lock()
	if s.conns[c.pid] == c {
		delete(s.conns, c.pid)
	}
	s.mu.Unlock()
	s.wg.Done()
}

// lookupConn returns the live connection with process id pid.
func (s *Server) lookupConn(pid uint32) *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns[pid]
}

func (s *Server) snapshotConns() []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*conn, 0, len(s.conns))
	for _, c := range s.conns {
		out = append(out, c)
	}
	return out
}

// Shutdown stops accepting connections, ends idle connections with a FATAL
// 57P01 admin_shutdown, and waits for running statements to finish. When ctx
// is done first, running statements are canceled, every connection is
// closed, and ctx's error is returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing.Store(true)
	for ln := range s.listeners {
		_ = ln.Close()
	}
	s.mu.Unlock()

	for _, c := range s.snapshotConns() {
		c.nudgeIfIdle()
	}
	finished := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(finished)
	}()
	select {
	case <-finished:
		return nil
	case <-ctx.Done():
	}
	s.closeAll(errAdminShutdown)
	return ctx.Err()
}

// Close closes the listeners and every connection immediately.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closing.Store(true)
	for ln := range s.listeners {
		_ = ln.Close()
	}
	s.mu.Unlock()
	s.closeAll(errAdminShutdown)
	return nil
}

func (s *Server) closeAll(cause error) {
	if cause == nil {
		cause = errAdminShutdown
	}
	for _, c := range s.snapshotConns() {
		c.kill(cause)
	}
}

// cancelRequest handles a CancelRequest: cancel the statement running on the
// connection with process id pid if key matches its secret.
func (s *Server) cancelRequest(pid uint32, key []byte) {
	c := s.lookupConn(pid)
	if c == nil {
		return
	}
	c.cancelFromClient(key)
}
