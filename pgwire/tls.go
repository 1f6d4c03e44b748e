package pgwire

import (
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"errors"
)

// tlsServerConfig returns the TLS configuration for one connection and a
// function reporting the certificate the handshake chose, which SCRAM
// channel binding (tls-server-end-point) hashes. When the base
// configuration picks its certificate in a way we cannot observe
// (GetConfigForClient), chosen reports nil and channel binding is off.
func tlsServerConfig(base *tls.Config) (cfg *tls.Config, chosen func() *tls.Certificate) {
	if base.GetConfigForClient != nil || (base.GetCertificate == nil && len(base.Certificates) == 0) {
		return base, func() *tls.Certificate { return nil }
	}
	var picked *tls.Certificate
	cfg = base.Clone()
	certs := base.Certificates
	getCert := base.GetCertificate
	cfg.Certificates = nil
	cfg.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if getCert != nil {
			cert, err := getCert(hello)
			if err != nil || cert != nil {
				picked = cert
				return cert, err
			}
		}
		if len(certs) == 0 {
			return nil, errors.New("pgwire: no TLS certificate configured")
		}
		picked = &certs[0]
		for i := range certs {
			if hello.SupportsCertificate(&certs[i]) == nil {
				picked = &certs[i]
				break
			}
		}
		return picked, nil
	}
	return cfg, func() *tls.Certificate { return picked }
}

// endPointHash is the tls-server-end-point channel binding data of cert
// (RFC 5929 section 4.1): the certificate hashed with its signature's hash
// function, with MD5 and SHA-1 replaced by SHA-256. ok is false when the
// signature algorithm has no such hash (e.g. Ed25519).
func endPointHash(cert *tls.Certificate) (sum []byte, ok bool) {
	if cert == nil || len(cert.Certificate) == 0 {
		return nil, false
	}
	leaf := cert.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, false
		}
	}
	var h crypto.Hash
	switch leaf.SignatureAlgorithm {
	case x509.MD5WithRSA, x509.SHA1WithRSA, x509.ECDSAWithSHA1, x509.DSAWithSHA1,
		x509.SHA256WithRSA, x509.SHA256WithRSAPSS, x509.ECDSAWithSHA256, x509.DSAWithSHA256:
		h = crypto.SHA256
	case x509.SHA384WithRSA, x509.SHA384WithRSAPSS, x509.ECDSAWithSHA384:
		h = crypto.SHA384
	case x509.SHA512WithRSA, x509.SHA512WithRSAPSS, x509.ECDSAWithSHA512:
		h = crypto.SHA512
	default:
		return nil, false
	}
	switch h {
	case crypto.SHA384:
		s := sha512.Sum384(leaf.Raw)
		return s[:], true
	case crypto.SHA512:
		s := sha512.Sum512(leaf.Raw)
		return s[:], true
	}
	s := sha256.Sum256(leaf.Raw)
	return s[:], true
}
