// Package testcreds makes the credentials that tests of TLS, mutual TLS and
// token authentication need, in memory: a certificate authority that issues
// server and client certificates, and a token issuer that signs JSON Web
// Tokens and publishes its key as a JSON Web Key Set, the way an identity
// provider does for Temporal's JWT authorizer.
package testcreds

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// validity is how long issued certificates are valid; they start an hour
// in the past so that clock skew between processes never matters.
const validity = 24 * time.Hour

// CA is a certificate authority for tests.
type CA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
}

// KeyPair is a certificate and its private key, PEM-encoded.
type KeyPair struct {
	CertPEM, KeyPEM []byte
}

// NewCA makes a self-signed certificate authority named commonName.
func NewCA(commonName string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("new CA: %w", err)
	}
	tmpl, err := template(commonName)
	if err != nil {
		return nil, fmt.Errorf("new CA: %w", err)
	}
	tmpl.IsCA = true
	tmpl.BasicConstraintsValid = true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("new CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("new CA: %w", err)
	}
	return &CA{cert: cert, key: key, certPEM: pemBlock("CERTIFICATE", der)}, nil
}

// CertPEM returns the CA's certificate, which clients and servers trust.
func (ca *CA) CertPEM() []byte { return ca.certPEM }

// IssueServer issues a certificate for hosts, each an IP address or a DNS
// name. It is valid for client authentication too, as the certificate a
// server presents when it calls another (Temporal's internode traffic).
func (ca *CA) IssueServer(hosts ...string) (KeyPair, error) {
	if len(hosts) == 0 {
		return KeyPair{}, fmt.Errorf("issue server certificate: no host")
	}
	tmpl, err := template(hosts[0])
	if err != nil {
		return KeyPair{}, fmt.Errorf("issue server certificate: %w", err)
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	return ca.issue(tmpl)
}

// IssueClient issues a client certificate whose subject is commonName.
func (ca *CA) IssueClient(commonName string) (KeyPair, error) {
	tmpl, err := template(commonName)
	if err != nil {
		return KeyPair{}, fmt.Errorf("issue client certificate: %w", err)
	}
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	return ca.issue(tmpl)
}

func (ca *CA) issue(tmpl *x509.Certificate) (KeyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return KeyPair{}, fmt.Errorf("issue certificate: %w", err)
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return KeyPair{}, fmt.Errorf("issue certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return KeyPair{}, fmt.Errorf("issue certificate: %w", err)
	}
	return KeyPair{CertPEM: pemBlock("CERTIFICATE", der), KeyPEM: pemBlock("PRIVATE KEY", keyDER)}, nil
}

// WriteFiles writes the pair to dir as <name>.pem and <name>.key (readable
// by its owner alone) and returns their paths.
func (kp KeyPair) WriteFiles(dir, name string) (certPath, keyPath string, err error) {
	certPath, keyPath = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certPath, kp.CertPEM, 0o644); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(keyPath, kp.KeyPEM, 0o600); err != nil {
		return "", "", err
	}
	return certPath, keyPath, nil
}

// template is a certificate template named commonName with a random serial
// number.
func template(commonName string) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: commonName, Organization: []string{"hookbridge tests"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(validity),
	}, nil
}

func pemBlock(kind string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der})
}

// Issuer signs JSON Web Tokens with an ES256 key and publishes the key as a
// JSON Web Key Set.
type Issuer struct {
	key    *ecdsa.PrivateKey
	keyID  string
	signer jose.Signer
}

// NewIssuer makes an issuer whose key has the ID keyID. Two issuers with the
// same key ID sign with different keys, so one's tokens are forgeries to a
// server that trusts the other's key set.
func NewIssuer(keyID string) (*Issuer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("new token issuer: %w", err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: keyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("new token issuer: %w", err)
	}
	return &Issuer{key: key, keyID: keyID, signer: signer}, nil
}

// KeySet returns the issuer's public key as a JSON Web Key Set.
func (i *Issuer) KeySet() ([]byte, error) {
	return json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: &i.key.PublicKey, KeyID: i.keyID, Algorithm: string(jose.ES256), Use: "sig",
	}}})
}

// ServeHTTP serves the key set, as an identity provider's JWKS URL does.
func (i *Issuer) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	b, err := i.KeySet()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// Token signs a token for subject that expires at expiry and grants
// permissions in the claim "permissions", each "<namespace>:<role>" as
// Temporal's default claim mapper reads them (role read, write, worker or
// admin; namespace "temporal-system" for the whole cluster).
func (i *Issuer) Token(subject string, expiry time.Time, permissions ...string) (string, error) {
	// Issued before it expires, also when that is in the past.
	issued := time.Now()
	if expiry.Before(issued) {
		issued = expiry
	}
	issued = issued.Add(-time.Minute)
	token, err := jwt.Signed(i.signer).
		Claims(jwt.Claims{
			Subject:   subject,
			IssuedAt:  jwt.NewNumericDate(issued),
			NotBefore: jwt.NewNumericDate(issued),
			Expiry:    jwt.NewNumericDate(expiry),
		}).
		Claims(map[string]any{"permissions": permissions}).
		Serialize()
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return token, nil
}
