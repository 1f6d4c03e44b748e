package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/sabotsql/sabotsql/engine"
	"github.com/sabotsql/sabotsql/pgwire"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:5433", "address to listen on")
	dataDir := fs.String("data-dir", "./sabot-data", "data directory")
	memLimit := fs.String("memory-limit", "4GiB", "memory budget of the engine (e.g. 512MiB, 8GiB), split into shares for view state, view aggregates and each statement; the Go runtime's soft limit is 1.5 times it (headroom for what the shares do not charge)")
	password := fs.String("password", "", "password of the default user "+engine.DefaultUser+" (enables SCRAM-SHA-256 authentication)")
	tlsCert := fs.String("tls-cert", "", "TLS certificate file (PEM)")
	tlsKey := fs.String("tls-key", "", "TLS private key file (PEM)")
	insecure := fs.Bool("insecure", false, "allow listening on a non-loopback address without a password")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	ckptBytes := fs.Int64("checkpoint-bytes", 0, "write-ahead log bytes between checkpoints (0: the default, 64 MiB)")
	backend := fs.String("state-backend", "columnar", "default state backend of materialized views: memory, pebble or columnar")
	debugAddr := fs.String("debug-listen", "", "address of an HTTP listener serving Go profiles under /debug/pprof/ (off by default; keep it on loopback)")
	barrier := fs.Duration("barrier-interval", engine.DefaultBarrierInterval, "time between epochs of materialized views (their freshness)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "sabotsql: bad --log-level %q\n", *logLevel)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	limit, err := parseSize(*memLimit)
	if err != nil {
		fmt.Fprintf(stderr, "sabotsql: --memory-limit: %v\n", err)
		return 2
	}
	var tlsCfg *tls.Config
	if *tlsCert != "" || *tlsKey != "" {
		cert, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
		if err != nil {
			fmt.Fprintf(stderr, "sabotsql: loading TLS certificate: %v\n", err)
			return 1
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	eng, err := engine.Open(ctx, engine.Options{
		DataDir: *dataDir, MemoryLimit: limit, SetRuntimeLimit: true, Password: *password,
		HashPassword: pgwire.NewSCRAMVerifier, Logger: log, BarrierInterval: *barrier, StateBackend: *backend, CheckpointBytes: *ckptBytes,
	})
	if err != nil {
		fmt.Fprintf(stderr, "sabotsql: %v\n", err)
		return 1
	}
	defer eng.Close()
	srv, err := pgwire.New(pgwire.Config{
		Listen: *listen, TLSConfig: tlsCfg, PasswordConfigured: *password != "",
		Insecure: *insecure, Logger: log,
	}, eng)
	if err != nil {
		fmt.Fprintf(stderr, "sabotsql: %v\n", err)
		return 1
	}
	host, port, err := net.SplitHostPort(*listen)
	if err != nil {
		fmt.Fprintf(stderr, "sabotsql: bad --listen %q: %v\n", *listen, err)
		return 2
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	log.Info("sabotsql listening", "addr", *listen, "data_dir", *dataDir,
		"connect", fmt.Sprintf("psql -h %s -p %s -U %s", host, port, engine.DefaultUser))
	if *debugAddr != "" {
		stop, err := serveDebug(*debugAddr)
		if err != nil {
			fmt.Fprintf(stderr, "sabotsql: --debug-listen: %v\n", err)
			return 1
		}
		defer stop()
	}
	serveCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe(serveCtx) }()
	select {
	case err := <-errc:
		if err != nil && !errors.Is(err, pgwire.ErrServerClosed) {
			fmt.Fprintf(stderr, "sabotsql: %v\n", err)
			return 1
		}
		return 0
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	cancel()
	<-errc
	return 0
}

// serveDebug serves Go profiles under /debug/pprof/ on addr until the
// returned function is called.
func serveDebug(addr string) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	dbg := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = dbg.Serve(ln) }()
	return func() { dbg.Close() }, nil
}

// parseSize parses sizes like 512MiB, 4GiB, 1GB, 1048576.
func parseSize(s string) (int64, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, x := range []struct {
		suf string
		m   int64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"TIB", 1 << 40}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"TB", 1 << 40}, {"B", 1}} {
		if strings.HasSuffix(u, x.suf) {
			u, mult = strings.TrimSpace(strings.TrimSuffix(u, x.suf)), x.m
			break
		}
	}
	n, err := strconv.ParseInt(u, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return n * mult, nil
}
