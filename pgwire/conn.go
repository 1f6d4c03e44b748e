package pgwire

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/sabotsql/sabotsql/api"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Startup packet codes (the int32 after the length).
const (
	codeSSLRequest    = 80877103
	codeGSSENCRequest = 80877104
	codeCancelRequest = 80877102
	protoMajor3       = 3
	maxStartupPacket  = 10000
	flushThreshold    = 32 << 10
)

// conn is one client connection. All fields below mu are owned by the
// connection goroutine.
type conn struct {
	srv    *Server
	nc     net.Conn
	pid    uint32
	secret [4]byte
	start  time.Time

	ctx    context.Context // canceled by kill
	cancel context.CancelCauseFunc

	mu         sync.Mutex
	stmtCancel context.CancelCauseFunc // the running statement's, or nil
	idle       bool                    // waiting for a command after ReadyForQuery
	starting   bool                    // in startup/authentication

	backend        *pgproto3.Backend
	out            []byte
	werr           error // first write error: the connection is dead
	isTLS          bool
	cbind          []byte // tls-server-end-point data; nil without TLS
	overLimit      bool   // accepted beyond Config.MaxConnections
	user, database string
	sess           api.Session
	tctx           *types.Ctx
	tz             string
	reported       map[string]string
	afterReady     bool // ReadyForQuery sent, no message since
	ignoreTillSync bool
	stmts          map[string]*prepStmt
	portals        map[string]*portal
}

func newConn(s *Server, parent context.Context, nc net.Conn, pid uint32) *conn {
	ctx, cancel := context.WithCancelCause(parent)
	c := &conn{srv: s, nc: nc, pid: pid, start: time.Now(), ctx: ctx, cancel: cancel, starting: true,
		stmts: make(map[string]*prepStmt), portals: make(map[string]*portal)}
	_, _ = rand.Read(c.secret[:])
	// Bound the login phase. Set here, before the connection is visible to
	// Shutdown, so a shutdown nudge is never overwritten.
	_ = nc.SetDeadline(time.Now().Add(s.cfg.AuthTimeout))
	return c
}

// serve runs the connection to its end.
func (c *conn) serve() {
	log := c.srv.log
	log.Debug("pgwire: connection opened", "pid", c.pid, "remote", c.nc.RemoteAddr().String())
	err := c.run()
	var fe *fatalError
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && c.srv.closing.Load() {
		err = &fatalError{pe: errAdminShutdown}
	}
	reason := "client left"
	switch {
	case err == nil:
	case errors.As(err, &fe):
		c.send(errorResponse(fe.pe))
		_ = c.flush()
		reason = fe.pe.Code + " " + fe.pe.Message
	default:
		reason = err.Error()
	}
	c.closePortals()
	if c.sess != nil {
		if cerr := c.sess.Close(); cerr != nil {
			log.Warn("pgwire: closing session", "pid", c.pid, "err", cerr)
		}
	}
	c.cancel(nil)
	_ = c.nc.Close()
	c.srv.removeConn(c)
	log.Debug("pgwire: connection closed", "pid", c.pid, "remote", c.nc.RemoteAddr().String(),
		"user", c.user, "duration", time.Since(c.start), "reason", reason)
}

// run performs startup, authentication and the command loop. A *fatalError
// result is reported to the client by serve.
func (c *conn) run() error {
	params, err := c.startup()
	if err != nil || params == nil {
		return err
	}
	if c.overLimit {
		return newFatal(pgerror.TooManyConnections, "sorry, too many clients already")
	}
	c.backend = pgproto3.NewBackend(c.nc, io.Discard)
	c.backend.SetMaxBodyLen(c.srv.cfg.MaxMessageSize)
	if err := c.authenticate(); err != nil {
		return err
	}
	c.mu.Lock()
	c.starting = false
	_ = c.nc.SetDeadline(time.Time{})
	c.mu.Unlock()
	if c.srv.closing.Load() {
		return &fatalError{pe: errAdminShutdown}
	}

	sess, err := c.srv.engine.NewSession(c.ctx, c.user, c.database, params)
	if err != nil {
		pe, _ := toPGError(c.ctx, err)
		cp := *pe
		cp.Severity = sevFatal
		return &fatalError{pe: &cp}
	}
	c.sess = sess
	c.sendInitialStatus(params)
	c.send(&pgproto3.BackendKeyData{ProcessID: c.pid, SecretKey: c.secret[:]})
	if err := c.readyForQuery(); err != nil {
		return err
	}
	return c.loop()
}

// readStartupPacket reads one length-prefixed startup packet straight from
// the socket (no read-ahead, so nothing leaks across a TLS upgrade).
func (c *conn) readStartupPacket() ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(c.nc, hdr[:]); err != nil {
		return nil, err
	}
	n := int(int32(binary.BigEndian.Uint32(hdr[:])))
	if n < 8 || n > maxStartupPacket {
		return nil, newFatal(pgerror.ProtocolViolation, "invalid length of startup packet")
	}
	body := make([]byte, n-4)
	if _, err := io.ReadFull(c.nc, body); err != nil {
		return nil, err
	}
	return body, nil
}

// startup handles SSL/GSS negotiation, cancel requests and the startup
// message. It returns the startup parameters, or nil parameters when the
// connection is done (a cancel request).
func (c *conn) startup() (map[string]string, error) {
	for {
		body, err := c.readStartupPacket()
		if err != nil {
			return nil, err
		}
		code := binary.BigEndian.Uint32(body)
		switch code {
		case codeSSLRequest:
			if c.isTLS {
				return nil, newFatal(pgerror.ProtocolViolation, "SSLRequest received on a TLS connection")
			}
			if c.srv.cfg.TLSConfig == nil {
				if _, err := c.nc.Write([]byte{'N'}); err != nil {
					return nil, err
				}
				continue
			}
			if _, err := c.nc.Write([]byte{'S'}); err != nil {
				return nil, err
			}
			cfg, chosen := tlsServerConfig(c.srv.cfg.TLSConfig)
			tc := tls.Server(c.nc, cfg)
			if err := tc.HandshakeContext(c.ctx); err != nil {
				return nil, fmt.Errorf("pgwire: tls handshake: %w", err)
			}
			c.cbind, _ = endPointHash(chosen())
			c.mu.Lock()
			c.nc = tc
			c.mu.Unlock()
			c.isTLS = true
			continue
		case codeGSSENCRequest:
			if _, err := c.nc.Write([]byte{'N'}); err != nil {
				return nil, err
			}
			continue
		case codeCancelRequest:
			if len(body) < 12 || len(body) > 264 {
				return nil, nil
			}
			c.srv.cancelRequest(binary.BigEndian.Uint32(body[4:8]), body[8:])
			return nil, nil
		}
		major, minor := code>>16, code&0xffff
		if major != protoMajor3 {
			return nil, newFatal(pgerror.FeatureNotSupported,
				"unsupported frontend protocol %d.%d: server supports 3.0 to 3.0", major, minor)
		}
		params, err := parseStartupParams(body[4:])
		if err != nil {
			return nil, err
		}
		var unrecognized []string
		for k := range params {
			if len(k) > 5 && k[:5] == "_pq_." {
				unrecognized = append(unrecognized, k)
				delete(params, k)
			}
		}
		if minor > 0 || len(unrecognized) > 0 {
			c.send(&pgproto3.NegotiateProtocolVersion{NewestMinorProtocol: 0, UnrecognizedOptions: unrecognized})
		}
		if c.srv.cfg.RequireTLS && !c.isTLS {
			return nil, newFatal(pgerror.InvalidAuthorizationSpec, "connection requires TLS (SSL)")
		}
		c.user = params["user"]
		if c.user == "" {
			return nil, newFatal(pgerror.InvalidAuthorizationSpec, "no PostgreSQL user name specified in startup packet")
		}
		c.database = params["database"]
		if c.database == "" {
			c.database = c.user
		}
		return params, nil
	}
}

// parseStartupParams parses "name\0value\0...\0".
func parseStartupParams(b []byte) (map[string]string, error) {
	params := make(map[string]string)
	for {
		i := indexZero(b)
		if i < 0 {
			return nil, newFatal(pgerror.ProtocolViolation, "invalid startup packet layout: expected terminator as last byte")
		}
		if i == 0 {
			if len(b) != 1 {
				return nil, newFatal(pgerror.ProtocolViolation, "invalid startup packet layout: expected terminator as last byte")
			}
			return params, nil
		}
		name := string(b[:i])
		b = b[i+1:]
		j := indexZero(b)
		if j < 0 {
			return nil, newFatal(pgerror.ProtocolViolation, "invalid startup packet layout: missing value for %q", name)
		}
		params[name] = string(b[:j])
		b = b[j+1:]
	}
}

func indexZero(b []byte) int {
	for i, x := range b {
		if x == 0 {
			return i
		}
	}
	return -1
}

// defaultStatus lists the settings reported at startup, before the
// session's own ReportedSettings override them.
func (c *conn) sendInitialStatus(params map[string]string) {
	st := map[string]string{
		"server_version":              ServerVersion,
		"server_encoding":             "UTF8",
		"client_encoding":             "UTF8",
		"DateStyle":                   "ISO, MDY",
		"TimeZone":                    "UTC",
		"integer_datetimes":           "on",
		"standard_conforming_strings": "on",
		"IntervalStyle":               "postgres",
		"is_superuser":                "on",
		"session_authorization":       c.user,
		"application_name":            params["application_name"],
	}
	if tz, ok := c.sess.Setting("TimeZone"); ok && tz != "" {
		st["TimeZone"] = tz
	}
	for k, v := range c.sess.ReportedSettings() {
		st[k] = v
	}
	c.reported = st
	for _, k := range sortedKeys(st) {
		c.send(&pgproto3.ParameterStatus{Name: k, Value: st[k]})
	}
	c.refreshCtx()
}

// reportChanges sends ParameterStatus for reported settings that changed.
func (c *conn) reportChanges() {
	cur := c.sess.ReportedSettings()
	for _, k := range sortedKeys(cur) {
		if v := cur[k]; c.reported[k] != v {
			c.reported[k] = v
			c.send(&pgproto3.ParameterStatus{Name: k, Value: v})
		}
	}
}

// refreshCtx rebuilds the value-conversion context when TimeZone changed.
func (c *conn) refreshCtx() {
	tz, _ := c.sess.Setting("TimeZone")
	if c.tctx != nil && tz == c.tz {
		return
	}
	c.tz = tz
	c.tctx = &types.Ctx{Loc: loadLocation(tz)}
	// Sessions that can name catalog objects print regclass/regtype values
	// as names, as PostgreSQL does.
	if n, ok := c.sess.(interface {
		ObjectName(t types.T, oid int64) (string, bool)
	}); ok {
		c.tctx.ObjectName = n.ObjectName
	}
}

// loadLocation resolves a TimeZone setting: a zone name, or a numeric
// offset in hours east of UTC ("+2", "-05:30"); unknown zones mean UTC.
func loadLocation(tz string) *time.Location {
	if tz == "" || tz == "UTC" || tz == "utc" {
		return time.UTC
	}
	if loc, err := time.LoadLocation(tz); err == nil {
		return loc
	}
	var h, m int
	sign := 1
	s := tz
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		if s[0] == '-' {
			sign = -1
		}
		s = s[1:]
	}
	if n, _ := fmt.Sscanf(s, "%d:%d", &h, &m); n >= 1 && h <= 15 && m < 60 {
		return time.FixedZone(tz, sign*(h*3600+m*60))
	}
	return time.UTC
}

// readyForQuery reports setting changes and sends ReadyForQuery, flushing.
func (c *conn) readyForQuery() error {
	c.reportChanges()
	c.send(&pgproto3.ReadyForQuery{TxStatus: c.sess.TxStatus()})
	c.afterReady = true
	return c.flush()
}

// send buffers msg for the client.
func (c *conn) send(msg pgproto3.BackendMessage) {
	if c.werr != nil {
		return
	}
	out, err := msg.Encode(c.out)
	if err != nil {
		c.werr = fmt.Errorf("pgwire: encode %T: %w", msg, err)
		return
	}
	c.out = out
}

// maybeFlush writes the buffer once it is large.
func (c *conn) maybeFlush() error {
	if len(c.out) >= flushThreshold {
		return c.flush()
	}
	return c.werr
}

// flush writes buffered messages with a deadline.
func (c *conn) flush() error {
	if c.werr != nil {
		return c.werr
	}
	if len(c.out) == 0 {
		return nil
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.srv.cfg.WriteTimeout))
	_, err := c.nc.Write(c.out)
	if cap(c.out) > 1<<20 {
		c.out = nil
	} else {
		c.out = c.out[:0]
	}
	if err != nil {
		c.werr = &connLost{err: err}
	}
	return c.werr
}

// receive reads the next message. When idle is true the connection is
// between commands and may be ended by a shutdown.
func (c *conn) receive(idle bool) (pgproto3.FrontendMessage, error) {
	if idle {
		c.mu.Lock()
		if c.srv.closing.Load() {
			c.mu.Unlock()
			return nil, &fatalError{pe: errAdminShutdown}
		}
		c.idle = true
		c.mu.Unlock()
	}
	msg, err := c.backend.Receive()
	if idle {
		c.mu.Lock()
		c.idle = false
		if c.srv.closing.Load() {
			_ = c.nc.SetReadDeadline(time.Time{}) // undo a shutdown nudge
		}
		c.mu.Unlock()
	}
	if err == nil {
		return msg, nil
	}
	var tooBig *pgproto3.ExceededMaxBodyLenErr
	var ne net.Error
	switch {
	case errors.As(err, &tooBig):
		return nil, newFatal(pgerror.ProgramLimitExceeded, "message of %d bytes exceeds the maximum of %d bytes",
			tooBig.ActualBodyLen, tooBig.MaxExpectedBodyLen)
	case errors.As(err, &ne) && ne.Timeout() && c.srv.closing.Load():
		return nil, &fatalError{pe: errAdminShutdown}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed), errors.As(err, &ne):
		return nil, err
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return nil, err
	}
	return nil, newFatal(pgerror.ProtocolViolation, "invalid frontend message: %v", err)
}

// nudgeIfIdle makes an idle (or still logging in) connection's pending read
// return so it notices the shutdown.
func (c *conn) nudgeIfIdle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.idle || c.starting {
		_ = c.nc.SetReadDeadline(time.Now())
	}
}

// kill cancels everything the connection runs and closes its socket.
func (c *conn) kill(cause error) {
	c.cancel(cause)
	c.mu.Lock()
	nc := c.nc
	c.mu.Unlock()
	_ = nc.Close()
}

// cancelFromClient cancels the running statement if key is the secret.
func (c *conn) cancelFromClient(key []byte) {
	if subtle.ConstantTimeCompare(key, c.secret[:]) != 1 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stmtCancel != nil {
		c.stmtCancel(errUserCancel)
	}
}

// setRunning records the cancel function of the running statement (nil when
// none runs).
func (c *conn) setRunning(cancel context.CancelCauseFunc) {
	c.mu.Lock()
	c.stmtCancel = cancel
	c.mu.Unlock()
}

// loop serves commands until the client leaves or an error ends it.
func (c *conn) loop() error {
	for {
		idle := c.afterReady
		msg, err := c.receive(idle)
		if err != nil {
			return err
		}
		if _, isSync := msg.(*pgproto3.Sync); !isSync {
			if _, isFlush := msg.(*pgproto3.Flush); !isFlush {
				c.afterReady = false
			}
		}
		if c.ignoreTillSync {
			switch msg.(type) {
			case *pgproto3.Sync:
			case *pgproto3.Terminate:
				return nil
			default:
				continue
			}
		}
		switch m := msg.(type) {
		case *pgproto3.Query:
			err = c.handleQuery(m.String)
		case *pgproto3.Parse:
			err = c.handleParse(m)
		case *pgproto3.Bind:
			err = c.handleBind(m)
		case *pgproto3.Describe:
			err = c.handleDescribe(m)
		case *pgproto3.Execute:
			err = c.handleExecute(m)
		case *pgproto3.Close:
			err = c.handleClose(m)
		case *pgproto3.Sync:
			c.ignoreTillSync = false
			if c.sess.TxStatus() == 'I' {
				c.closePortals()
			}
			err = c.readyForQuery()
		case *pgproto3.Flush:
			err = c.flush()
		case *pgproto3.Terminate:
			return nil
		case *pgproto3.CopyData, *pgproto3.CopyDone, *pgproto3.CopyFail:
			// Stray copy messages after a failed COPY are ignored.
		case *pgproto3.FunctionCall:
			c.send(errorResponse(pgerror.Unsupported("the function call protocol is not supported")))
			err = c.readyForQuery()
		default:
			return newFatal(pgerror.ProtocolViolation, "unexpected message type %T", msg)
		}
		if err != nil {
			return err
		}
		if c.werr != nil {
			return c.werr
		}
	}
}

// sendError reports err for a statement run under ctx. Fatal errors are
// returned so the connection ends.
func (c *conn) sendError(ctx context.Context, err error) error {
	var fe *fatalError
	var lost *connLost
	if errors.As(err, &fe) || errors.As(err, &lost) {
		return err
	}
	if c.werr != nil {
		return c.werr
	}
	pe, internal := toPGError(ctx, err)
	if internal {
		c.srv.log.Error("pgwire: internal error", "pid", c.pid, "err", err)
	}
	if pe.Severity == sevFatal {
		return &fatalError{pe: pe}
	}
	c.send(errorResponse(pe))
	return nil
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }
