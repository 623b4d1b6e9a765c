package testcreds

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// A server certificate and a client certificate of one CA complete a
// mutual TLS handshake that verifies both sides; a client certificate of
// another CA is refused.
func TestMutualTLS(t *testing.T) {
	ca, err := NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	server, err := ca.IssueServer("127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	client, err := ca.IssueClient("hookbridge-worker")
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewCA("another CA")
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := other.IssueClient("stranger")
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca.CertPEM()) {
		t.Fatal("CA certificate not PEM")
	}
	serverCert := keyPair(t, server)

	for _, tt := range []struct {
		name       string
		client     KeyPair
		serverName string
		wantCN     string // the client subject the server saw; empty: refused
	}{
		{"by IP", client, "", "hookbridge-worker"},
		{"by name", client, "localhost", "hookbridge-worker"},
		{"another CA's client", stranger, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
				Certificates: []tls.Certificate{serverCert},
				ClientAuth:   tls.RequireAndVerifyClientCert,
				ClientCAs:    pool,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			seen := make(chan string, 1)
			go func() {
				conn, err := l.Accept()
				if err != nil {
					seen <- ""
					return
				}
				defer conn.Close()
				tc := conn.(*tls.Conn)
				if err := tc.Handshake(); err != nil {
					seen <- ""
					return
				}
				seen <- tc.ConnectionState().PeerCertificates[0].Subject.CommonName
				_, _ = io.WriteString(conn, "ok")
			}()
			conn, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{
				Certificates: []tls.Certificate{keyPair(t, tt.client)},
				RootCAs:      pool,
				ServerName:   tt.serverName,
			})
			if err == nil {
				// TLS 1.3 reports a refused client certificate on the
				// first read.
				_, err = io.ReadAll(conn)
				conn.Close()
			}
			got := <-seen
			if got != tt.wantCN {
				t.Errorf("server saw client %q, want %q", got, tt.wantCN)
			}
			if tt.wantCN == "" && err == nil {
				t.Error("the refused client's connection did not fail")
			}
			if tt.wantCN != "" && err != nil {
				t.Errorf("client: %v", err)
			}
		})
	}
	if _, err := ca.IssueServer(); err == nil {
		t.Error("IssueServer with no host: no error")
	}
}

func keyPair(t *testing.T, kp KeyPair) tls.Certificate {
	t.Helper()
	c, err := tls.X509KeyPair(kp.CertPEM, kp.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Tokens verify against the issuer's key set and carry their claims, the
// way the Temporal server's key provider (go-jose) and claim mapper read
// them; a token of another issuer with the same key ID does not verify.
func TestTokens(t *testing.T) {
	issuer, err := NewIssuer("key-1")
	if err != nil {
		t.Fatal(err)
	}
	forger, err := NewIssuer("key-1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := issuer.KeySet()
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 || set.Keys[0].KeyID != "key-1" || set.Keys[0].Algorithm != "ES256" || !set.Keys[0].IsPublic() {
		t.Fatalf("key set %s", b)
	}

	expiry := time.Now().Add(time.Hour).Truncate(time.Second)
	token, err := issuer.Token("worker", expiry, "default:write")
	if err != nil {
		t.Fatal(err)
	}
	claims, err := verify(token, set)
	if err != nil {
		t.Fatal(err)
	}
	if claims.Subject != "worker" || !claims.Expiry.Time().Equal(expiry) || strings.Join(claims.Permissions, ",") != "default:write" {
		t.Errorf("claims %+v", claims)
	}
	if err := claims.Validate(jwt.Expected{Time: time.Now()}); err != nil {
		t.Errorf("valid token: %v", err)
	}

	expired, err := issuer.Token("worker", time.Now().Add(-time.Minute), "default:write")
	if err != nil {
		t.Fatal(err)
	}
	if claims, err := verify(expired, set); err != nil {
		t.Fatal(err)
	} else if err := claims.Validate(jwt.Expected{Time: time.Now()}); !errors.Is(err, jwt.ErrExpired) {
		t.Errorf("expired token: Validate = %v, want ErrExpired", err)
	}

	forged, err := forger.Token("worker", expiry, "default:write")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify(forged, set); err == nil {
		t.Error("a token signed with another key verified")
	}
}

type testClaims struct {
	jwt.Claims
	Permissions []string `json:"permissions"`
}

func verify(token string, set jose.JSONWebKeySet) (testClaims, error) {
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return testClaims{}, err
	}
	if len(parsed.Headers) != 1 || parsed.Headers[0].KeyID == "" {
		return testClaims{}, errors.New("no kid header")
	}
	keys := set.Key(parsed.Headers[0].KeyID)
	if len(keys) != 1 {
		return testClaims{}, errors.New("unknown key")
	}
	var c testClaims
	err = parsed.Claims(keys[0].Key, &c)
	return c, err
}
