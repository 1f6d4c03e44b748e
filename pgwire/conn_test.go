package pgwire

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/stretchr/testify/require"
)

func TestCancelRequest(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	conn := ts.connect(t, "")
	ctx := context.Background()
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
		errc := make(chan error, 1)
		go func() {
			_, err := conn.Exec(ctx, "slow", mode)
			errc <- err
		}()
		<-ts.eng.slowStarted
		// A wrong secret key is ignored.
		other := dialRaw(t, ts)
		other.send(&pgproto3.CancelRequest{ProcessID: conn.PgConn().PID(), SecretKey: []byte{0, 0, 0, 0}})
		require.NoError(t, conn.PgConn().CancelRequest(ctx))
		pe := pgErr(t, <-errc)
		require.Equal(t, "57014", pe.Code)
		require.Equal(t, "canceling statement due to user request", pe.Message)
		require.NoError(t, conn.Ping(ctx))
	}
}

func TestSCRAM(t *testing.T) {
	eng := newFakeEngine()
	v, err := NewSCRAMVerifier("s3cret")
	require.NoError(t, err)
	eng.verifiers["secure"] = v
	ts := startServer(t, Config{PasswordConfigured: true}, eng)
	ctx := context.Background()
	url := func(pw string) string {
		return fmt.Sprintf("postgres://secure:%s@127.0.0.1:%d/db?sslmode=disable", pw, ts.addr.Port)
	}
	conn, err := pgx.Connect(ctx, url("s3cret"))
	require.NoError(t, err)
	require.NoError(t, conn.Ping(ctx))
	require.NoError(t, conn.Close(ctx))

	_, err = pgx.Connect(ctx, url("wrong"))
	pe := pgErr(t, err)
	require.Equal(t, "28P01", pe.Code)
	require.Equal(t, `password authentication failed for user "secure"`, pe.Message)

	// psql with the password in the environment.
	out, errOut, err := psqlAs(t, ts, "secure", "s3cret", "-A", "-t", "-c", "select 1")
	require.NoError(t, err, errOut)
	require.Equal(t, "1\n", out)
	_, errOut, err = psqlAs(t, ts, "secure", "nope", "-c", "select 1")
	require.Error(t, err)
	require.Contains(t, errOut, `password authentication failed for user "secure"`)
}

// TestSCRAMVector checks the key derivation against RFC 7677's example
// (user "user", password "pencil").
func TestSCRAMVector(t *testing.T) {
	salt := []byte{0x5b, 0x6d, 0x99, 0x68, 0x9d, 0x12, 0x35, 0x8e, 0xec, 0xa0, 0x4b, 0x14, 0x12, 0x36, 0xfa, 0x81}
	v, err := scramVerifier("pencil", salt, 4096)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(v, "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"), v)
	sec, err := parseVerifier(v)
	require.NoError(t, err)
	const nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
	authMessage := "n=user,r=rOprNGfwEbeRWgbNEkqO,r=" + nonce + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=" + nonce
	sig := hmacSHA256(sec.serverKey, []byte(authMessage))
	require.Equal(t, "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", b64(sig))

	for _, bad := range []string{"", "md5abc", "SCRAM-SHA-256$x:AA==$AA==:AA==", "SCRAM-SHA-256$4096:AA==$AA==:AA=="} {
		_, err := parseVerifier(bad)
		require.Error(t, err, bad)
	}
}

func psqlAs(t *testing.T, ts *testServer, user, password string, args ...string) (string, string, error) {
	t.Helper()
	full := append([]string{"-U", user}, args...)
	t.Setenv("PGPASSWORD", password)
	return psql(t, ts, "", full...)
}

func selfSignedTLS(t testing.TB) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

func TestTLS(t *testing.T) {
	ts := startServer(t, Config{TLSConfig: selfSignedTLS(t)}, nil)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://sabot@127.0.0.1:%d/db?sslmode=require", ts.addr.Port))
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, isTLS := conn.PgConn().Conn().(*tls.Conn)
	require.True(t, isTLS)
	var n int32
	require.NoError(t, conn.QueryRow(ctx, "select 1").Scan(&n))
	require.Equal(t, int32(1), n)
	// Cancel requests still work (they arrive on a plain connection).
	go func() { <-ts.eng.slowStarted; _ = conn.PgConn().CancelRequest(ctx) }()
	_, err = conn.Exec(ctx, "slow")
	require.Equal(t, "57014", pgErr(t, err).Code)

	// libpq negotiates TLS too.
	t.Setenv("PGSSLMODE", "require")
	out, errOut, err := psql(t, ts, "", "-A", "-t", "-c", "select 1")
	require.NoError(t, err, errOut)
	require.Equal(t, "1\n", out)

	// Plain connections are allowed unless RequireTLS.
	plain := ts.connect(t, "")
	require.NoError(t, plain.Ping(ctx))

	strict := startServer(t, Config{TLSConfig: selfSignedTLS(t), RequireTLS: true}, nil)
	_, err = pgx.Connect(ctx, strict.dsn(""))
	require.Equal(t, "28000", pgErr(t, err).Code)
	conn2, err := pgx.Connect(ctx, fmt.Sprintf("postgres://sabot@127.0.0.1:%d/db?sslmode=require", strict.addr.Port))
	require.NoError(t, err)
	require.NoError(t, conn2.Close(ctx))

	// Without TLS configured, sslmode=require fails and prefer falls back.
	noTLS := startServer(t, Config{}, nil)
	_, err = pgx.Connect(ctx, fmt.Sprintf("postgres://sabot@127.0.0.1:%d/db?sslmode=require", noTLS.addr.Port))
	require.Error(t, err)
	conn3, err := pgx.Connect(ctx, fmt.Sprintf("postgres://sabot@127.0.0.1:%d/db?sslmode=prefer", noTLS.addr.Port))
	require.NoError(t, err)
	require.NoError(t, conn3.Close(ctx))
}

// startupBytes is a valid StartupMessage for user sabot.
func startupBytes(t testing.TB) []byte {
	b, err := (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters: map[string]string{"user": "sabot"}}).Encode(nil)
	require.NoError(t, err)
	return b
}

func TestMalformedMessages(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	ctx := context.Background()
	cases := map[string][]byte{
		"garbage startup":        []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		"short startup length":   {0, 0, 0, 2, 1, 2},
		"huge startup length":    {0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0},
		"unterminated params":    {0, 0, 0, 12, 0, 3, 0, 0, 'u', 's', 'e', 'r'},
		"no user":                {0, 0, 0, 9, 0, 3, 0, 0, 0},
		"unknown message type":   append(startupBytes(t), '!', 0, 0, 0, 4),
		"negative length":        append(startupBytes(t), 'Q', 0xff, 0xff, 0xff, 0xff),
		"truncated bind":         append(startupBytes(t), 'B', 0, 0, 0, 8, 0, 0, 0, 0xff),
		"bind with bad counts":   append(startupBytes(t), 'B', 0, 0, 0, 12, 0, 0, 0, 0, 0x7f, 0xff, 0, 0),
		"query without nul":      append(startupBytes(t), 'Q', 0, 0, 0, 6, 'a', 'b'),
		"password after startup": append(startupBytes(t), 'p', 0, 0, 0, 9, 'a', 'b', 'c', 'd', 0),
		"bad describe kind":      append(startupBytes(t), 'D', 0, 0, 0, 6, 'X', 0),
	}
	for name, payload := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := net.Dial("tcp", ts.addr.String())
			require.NoError(t, err)
			defer c.Close()
			_, err = c.Write(payload)
			require.NoError(t, err)
			// The server answers (possibly with an error) and closes.
			require.NoError(t, c.SetReadDeadline(time.Now().Add(time.Minute)))
			out := readAll(t, c)
			if i := strings.Index(out, "08P01"); i < 0 {
				require.NotContains(t, out, "XX000")
			}
			// And it still serves new connections.
			conn := ts.connect(t, "")
			require.NoError(t, conn.Ping(ctx))
		})
	}
}

func TestMessageSizeLimit(t *testing.T) {
	ts := startServer(t, Config{MaxMessageSize: 1024}, nil)
	ctx := context.Background()
	conn := ts.connect(t, "")
	_, err := conn.Exec(ctx, "echo text", strings.Repeat("x", 2000))
	pe := pgErr(t, err)
	require.Equal(t, "54000", pe.Code)
	require.Equal(t, "FATAL", pe.Severity)
	require.True(t, conn.IsClosed() || conn.Ping(ctx) != nil)

	conn2 := ts.connect(t, "")
	var s string
	require.NoError(t, conn2.QueryRow(ctx, "echo text", strings.Repeat("y", 500)).Scan(&s))
	require.Len(t, s, 500)
}

func TestManyConnections(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	const n = 500
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			conn, err := pgx.Connect(ctx, ts.dsn(""))
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close(ctx)
			var got int64
			if err := conn.QueryRow(ctx, "echo int8", int64(i)).Scan(&got); err != nil {
				errs <- err
				return
			}
			if got != int64(i) {
				errs <- fmt.Errorf("connection %d got %d", i, got)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func TestSlowReaderDoesNotStallOthers(t *testing.T) {
	ts := startServer(t, Config{}, nil)
	ctx := context.Background()
	slow := dialRaw(t, ts)
	slow.startup()
	// Ask for far more rows than socket buffers hold, then never read.
	slow.send(&pgproto3.Query{String: "wide 30000"}) // ~30 MB, more than socket buffers hold

	conn := ts.connect(t, "")
	for i := range 50 {
		var got int64
		require.NoError(t, conn.QueryRow(ctx, "echo int8", int64(i)).Scan(&got))
		require.Equal(t, int64(i), got)
	}
	rows, err := conn.Query(ctx, "gen 20000")
	require.NoError(t, err)
	count := 0
	for rows.Next() {
		count++
	}
	require.NoError(t, rows.Err())
	require.Equal(t, 20000, count)
	_ = slow.nc.Close()
}

func TestShutdown(t *testing.T) {
	eng := newFakeEngine()
	srv, err := New(Config{}, eng)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(context.Background(), ln) }()
	ctx := context.Background()
	dsn := fmt.Sprintf("postgres://sabot@%s/db?sslmode=disable", ln.Addr())

	idle, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	busy, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	busyErr := make(chan error, 1)
	go func() {
		_, err := busy.Exec(ctx, "slow")
		busyErr <- err
	}()
	<-eng.slowStarted

	// Graceful shutdown cannot finish while "slow" runs; when its context
	// ends, the statement is canceled and everything is closed.
	sctx, cancel := context.WithCancel(ctx)
	shutdownErr := make(chan error, 1)
	go func() { shutdownErr <- srv.Shutdown(sctx) }()
	require.ErrorIs(t, <-errc, ErrServerClosed)

	// The idle client is told why it is disconnected.
	require.Contains(t, readAll(t, idle.PgConn().Conn()), "57P01")
	// New connections are refused.
	_, err = pgx.Connect(ctx, dsn)
	require.Error(t, err)

	cancel()
	require.ErrorIs(t, <-shutdownErr, context.Canceled)
	require.Error(t, <-busyErr)
}

func TestShutdownWaitsForStatements(t *testing.T) {
	eng := newFakeEngine()
	srv, err := New(Config{}, eng)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(context.Background(), ln) }()
	ctx := context.Background()
	c := &rawClient{t: t}
	c.nc, err = net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer c.nc.Close()
	c.fe = pgproto3.NewFrontend(c.nc, c.nc)
	c.startup()
	// A statement in flight when Shutdown starts still gets its answer,
	// followed by the admin-shutdown FATAL.
	c.send(&pgproto3.Query{String: "slow"})
	<-eng.slowStarted
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	// The statement ends only through its own cancellation here: cancel it
	// with a CancelRequest, as a client would.
	srv.cancelRequest(firstPID(srv), nil) // wrong key: ignored
	for _, cc := range srv.snapshotConns() {
		cc.cancelFromClient(cc.secret[:])
	}
	require.Equal(t, []string{"E:57014", "Z:I"}, c.until('Z'))
	msg, err := c.fe.Receive()
	require.NoError(t, err)
	er, ok := msg.(*pgproto3.ErrorResponse)
	require.True(t, ok, "%T", msg)
	require.Equal(t, "57P01", er.Code)
	require.Equal(t, "FATAL", er.Severity)
	require.NoError(t, <-done)
}

func firstPID(s *Server) uint32 {
	for _, c := range s.snapshotConns() {
		return c.pid
	}
	return 0
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestShutdownEndsLoginsInProgress(t *testing.T) {
	eng := newFakeEngine()
	srv, err := New(Config{AuthTimeout: time.Hour}, eng)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(context.Background(), ln) }()
	nc, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer nc.Close()
	// After the SSLRequest answer the server waits for the startup message.
	_, err = nc.Write([]byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f})
	require.NoError(t, err)
	var b [1]byte
	_, err = io.ReadFull(nc, b[:])
	require.NoError(t, err)
	require.Equal(t, byte('N'), b[0])

	require.NoError(t, srv.Shutdown(context.Background()))
	fe := pgproto3.NewFrontend(nc, nc)
	msg, err := fe.Receive()
	require.NoError(t, err)
	er, ok := msg.(*pgproto3.ErrorResponse)
	require.True(t, ok, "%T", msg)
	require.Equal(t, "57P01", er.Code)
}

func TestSCRAMChannelBinding(t *testing.T) {
	eng := newFakeEngine()
	v, err := NewSCRAMVerifier("pw")
	require.NoError(t, err)
	eng.verifiers["secure"] = v
	ts := startServer(t, Config{TLSConfig: selfSignedTLS(t), PasswordConfigured: true}, eng)
	ctx := context.Background()
	for _, cb := range []string{"require", "prefer", "disable"} {
		url := fmt.Sprintf("postgres://secure:pw@127.0.0.1:%d/db?sslmode=require&channel_binding=%s", ts.addr.Port, cb)
		conn, err := pgx.Connect(ctx, url)
		require.NoError(t, err, cb)
		require.NoError(t, conn.Ping(ctx))
		require.NoError(t, conn.Close(ctx))
	}
	_, err = pgx.Connect(ctx, fmt.Sprintf("postgres://secure:bad@127.0.0.1:%d/db?sslmode=require&channel_binding=require", ts.addr.Port))
	require.Equal(t, "28P01", pgErr(t, err).Code)

	// Without TLS, channel binding cannot be required.
	_, err = pgx.Connect(ctx, fmt.Sprintf("postgres://secure:pw@127.0.0.1:%d/db?sslmode=disable&channel_binding=require", ts.addr.Port))
	require.Error(t, err)

	// libpq (psql) with channel binding required.
	t.Setenv("PGSSLMODE", "require")
	t.Setenv("PGCHANNELBINDING", "require")
	out, errOut, err := psqlAs(t, ts, "secure", "pw", "-A", "-t", "-c", "select 1")
	require.NoError(t, err, errOut)
	require.Equal(t, "1\n", out)
}

func TestEndPointHash(t *testing.T) {
	mk := func(pub, priv any, alg x509.SignatureAlgorithm) *tls.Certificate {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), SignatureAlgorithm: alg,
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
		require.NoError(t, err)
		return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}
	}
	k384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	sum, ok := endPointHash(mk(&k384.PublicKey, k384, x509.ECDSAWithSHA384))
	require.True(t, ok)
	require.Len(t, sum, 48)
	sum, ok = endPointHash(mk(&k384.PublicKey, k384, x509.ECDSAWithSHA256))
	require.True(t, ok)
	require.Len(t, sum, 32)
	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	_, ok = endPointHash(mk(edPub, edPriv, x509.PureEd25519))
	require.False(t, ok)
	_, ok = endPointHash(nil)
	require.False(t, ok)
}

func TestMaxConnections(t *testing.T) {
	ts := startServer(t, Config{MaxConnections: 2}, nil)
	ctx := context.Background()
	a := ts.connect(t, "")
	b := ts.connect(t, "")
	_, err := pgx.Connect(ctx, ts.dsn(""))
	require.Equal(t, "53300", pgErr(t, err).Code)
	// Cancel requests are not counted against the limit.
	go func() { <-ts.eng.slowStarted; _ = a.PgConn().CancelRequest(ctx) }()
	_, err = a.Exec(ctx, "slow")
	require.Equal(t, "57014", pgErr(t, err).Code)
	require.NoError(t, b.Ping(ctx))
}
