package pgwire

import (
	"bytes"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/sabotsql/sabotsql/sql/pgerror"
)

const (
	scramPlus       = "SCRAM-SHA-256-PLUS"
	cbindType       = "tls-server-end-point"
	scramMechanism  = "SCRAM-SHA-256"
	scramIterations = 4096
	scramSaltLen    = 16
	scramNonceLen   = 18
)

// NewSCRAMVerifier derives the SCRAM-SHA-256 verifier of password in the
// RFC 5803 text form PostgreSQL stores:
// "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>" (base64).
// The password is used as given (no SASLprep normalization).
func NewSCRAMVerifier(password string) (string, error) {
	salt := make([]byte, scramSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("pgwire: salt: %w", err)
	}
	return scramVerifier(password, salt, scramIterations)
}

func scramVerifier(password string, salt []byte, iter int) (string, error) {
	salted, err := pbkdf2.Key(sha256.New, password, salt, iter, sha256.Size)
	if err != nil {
		return "", fmt.Errorf("pgwire: pbkdf2: %w", err)
	}
	clientKey := hmacSHA256(salted, []byte("Client Key"))
	storedKey := sha256.Sum256(clientKey)
	serverKey := hmacSHA256(salted, []byte("Server Key"))
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("%s$%d:%s$%s:%s", scramMechanism, iter, b64(salt), b64(storedKey[:]), b64(serverKey)), nil
}

func hmacSHA256(key, msg []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(msg)
	return h.Sum(nil)
}

// scramSecret is a parsed verifier.
type scramSecret struct {
	iter      int
	salt      []byte
	storedKey []byte
	serverKey []byte
}

var errBadVerifier = errors.New("pgwire: malformed SCRAM-SHA-256 verifier")

func parseVerifier(v string) (*scramSecret, error) {
	mech, rest, ok := strings.Cut(v, "$")
	if !ok || mech != scramMechanism {
		return nil, errBadVerifier
	}
	params, keys, ok := strings.Cut(rest, "$")
	if !ok {
		return nil, errBadVerifier
	}
	iterS, saltS, ok1 := strings.Cut(params, ":")
	storedS, serverS, ok2 := strings.Cut(keys, ":")
	if !ok1 || !ok2 {
		return nil, errBadVerifier
	}
	iter, err := strconv.Atoi(iterS)
	if err != nil || iter <= 0 {
		return nil, errBadVerifier
	}
	dec := base64.StdEncoding.DecodeString
	salt, err1 := dec(saltS)
	stored, err2 := dec(storedS)
	server, err3 := dec(serverS)
	if err1 != nil || err2 != nil || err3 != nil || len(stored) != sha256.Size || len(server) != sha256.Size {
		return nil, errBadVerifier
	}
	return &scramSecret{iter: iter, salt: salt, storedKey: stored, serverKey: server}, nil
}

// authenticate runs the authentication exchange for c.user.
func (c *conn) authenticate() error {
	verifier, trust, ok := c.srv.engine.Authenticate(c.user)
	if !ok {
		return newFatal(pgerror.InvalidAuthorizationSpec, "role %q does not exist", c.user)
	}
	if !trust {
		if err := c.scram(verifier); err != nil {
			return err
		}
	}
	c.send(&pgproto3.AuthenticationOk{})
	return nil
}

func (c *conn) authFailed() error {
	return newFatal(pgerror.InvalidPassword, "password authentication failed for user %q", c.user)
}

// receiveAuth reads one SASL message of the expected type.
func (c *conn) receiveAuth(authType uint32) (pgproto3.FrontendMessage, error) {
	if err := c.backend.SetAuthType(authType); err != nil {
		return nil, err
	}
	if err := c.flush(); err != nil {
		return nil, err
	}
	return c.receive(false)
}

// scram runs SCRAM-SHA-256 (RFC 5802, RFC 7677), with tls-server-end-point
// channel binding (SCRAM-SHA-256-PLUS) on TLS connections.
func (c *conn) scram(verifier string) error {
	secret, err := parseVerifier(verifier)
	if err != nil {
		c.srv.log.Error("pgwire: bad stored verifier", "user", c.user, "err", err)
		return c.authFailed()
	}
	mechs := []string{scramMechanism}
	if c.cbind != nil {
		mechs = []string{scramPlus, scramMechanism}
	}
	c.send(&pgproto3.AuthenticationSASL{AuthMechanisms: mechs})
	msg, err := c.receiveAuth(pgproto3.AuthTypeSASL)
	if err != nil {
		return err
	}
	initial, ok := msg.(*pgproto3.SASLInitialResponse)
	if !ok {
		return newFatal(pgerror.ProtocolViolation, "expected SASL initial response, got %T", msg)
	}
	plus := initial.AuthMechanism == scramPlus && c.cbind != nil
	if initial.AuthMechanism != scramMechanism && !plus {
		return newFatal(pgerror.ProtocolViolation, "client selected an invalid SASL authentication mechanism")
	}
	clientFirstBare, clientNonce, gs2, err := parseClientFirst(initial.Data)
	if err != nil {
		return err
	}
	// The GS2 flag must agree with the mechanism: "p=" only with -PLUS, and
	// "y" (client could bind but thinks we cannot) is a downgrade when we
	// offered -PLUS.
	var cbindInput []byte
	switch {
	case plus:
		if gs2 != "p="+cbindType+",," {
			return newFatal(pgerror.ProtocolViolation, "SCRAM channel binding negotiation error: expected %s", cbindType)
		}
		cbindInput = append([]byte(gs2), c.cbind...)
	case strings.HasPrefix(gs2, "p="):
		return newFatal(pgerror.ProtocolViolation, "SCRAM channel binding negotiation error: binding requested without %s", scramPlus)
	case strings.HasPrefix(gs2, "y") && c.cbind != nil:
		return newFatal(pgerror.ProtocolViolation, "SCRAM channel binding negotiation error: client supports binding but the server offered it")
	default:
		cbindInput = []byte(gs2)
	}
	nonceBytes := make([]byte, scramNonceLen)
	if _, err := rand.Read(nonceBytes); err != nil {
		return fmt.Errorf("pgwire: nonce: %w", err)
	}
	nonce := clientNonce + base64.StdEncoding.EncodeToString(nonceBytes)
	serverFirst := fmt.Sprintf("r=%s,s=%s,i=%d", nonce, base64.StdEncoding.EncodeToString(secret.salt), secret.iter)
	c.send(&pgproto3.AuthenticationSASLContinue{Data: []byte(serverFirst)})

	msg, err = c.receiveAuth(pgproto3.AuthTypeSASLContinue)
	if err != nil {
		return err
	}
	resp, ok := msg.(*pgproto3.SASLResponse)
	if !ok {
		return newFatal(pgerror.ProtocolViolation, "expected SASL response, got %T", msg)
	}
	final := string(resp.Data)
	idx := strings.LastIndex(final, ",p=")
	if idx < 0 {
		return newFatal(pgerror.ProtocolViolation, "malformed SCRAM message (proof missing)")
	}
	withoutProof := final[:idx]
	proof, err := base64.StdEncoding.DecodeString(final[idx+3:])
	if err != nil || len(proof) != sha256.Size {
		return newFatal(pgerror.ProtocolViolation, "malformed SCRAM message (invalid proof)")
	}
	var gotNonce, cb string
	for _, attr := range strings.Split(withoutProof, ",") {
		switch {
		case strings.HasPrefix(attr, "c="):
			cb = attr[2:]
		case strings.HasPrefix(attr, "r="):
			gotNonce = attr[2:]
		}
	}
	cbData, err := base64.StdEncoding.DecodeString(cb)
	if err != nil || !bytes.Equal(cbData, cbindInput) {
		return newFatal(pgerror.ProtocolViolation, "SCRAM channel binding check failed")
	}
	if gotNonce != nonce {
		return newFatal(pgerror.ProtocolViolation, "SCRAM nonce mismatch")
	}
	authMessage := []byte(clientFirstBare + "," + serverFirst + "," + withoutProof)
	clientSig := hmacSHA256(secret.storedKey, authMessage)
	clientKey := make([]byte, sha256.Size)
	for i := range clientKey {
		clientKey[i] = proof[i] ^ clientSig[i]
	}
	got := sha256.Sum256(clientKey)
	if subtle.ConstantTimeCompare(got[:], secret.storedKey) != 1 {
		return c.authFailed()
	}
	serverSig := hmacSHA256(secret.serverKey, authMessage)
	c.send(&pgproto3.AuthenticationSASLFinal{Data: []byte("v=" + base64.StdEncoding.EncodeToString(serverSig))})
	return nil
}

// parseClientFirst splits a client-first-message into its bare part, the
// client nonce and the GS2 header (needed to check the c= attribute).
func parseClientFirst(data []byte) (bare, nonce, gs2 string, err error) {
	s := string(data)
	bad := func(what string) error {
		return newFatal(pgerror.ProtocolViolation, "malformed SCRAM message (%s)", what)
	}
	// gs2-header = cbind-flag "," [authzid] ","
	flag, rest, ok := strings.Cut(s, ",")
	if !ok {
		return "", "", "", bad("missing GS2 header")
	}
	switch {
	case flag == "n", flag == "y", strings.HasPrefix(flag, "p="):
	default:
		return "", "", "", bad("unexpected channel-binding flag")
	}
	authz, bare, ok := strings.Cut(rest, ",")
	if !ok {
		return "", "", "", bad("missing authzid separator")
	}
	if authz != "" && !strings.HasPrefix(authz, "a=") {
		return "", "", "", bad("invalid authzid")
	}
	gs2 = flag + "," + authz + ","
	for _, attr := range strings.Split(bare, ",") {
		switch {
		case strings.HasPrefix(attr, "m="):
			return "", "", "", bad("mandatory extensions are not supported")
		case strings.HasPrefix(attr, "r="):
			nonce = attr[2:]
		}
	}
	if nonce == "" {
		return "", "", "", bad("missing nonce")
	}
	for _, r := range nonce {
		if r < 0x21 || r > 0x7e || r == ',' {
			return "", "", "", bad("invalid nonce")
		}
	}
	return bare, nonce, gs2, nil
}
