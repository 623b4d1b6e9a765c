package cluster

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"text/template"
)

// servicePorts are the ports of one service process.
type servicePorts struct {
	GRPC       int
	Membership int
	Metrics    int // its Prometheus endpoint
	HTTP       int // its HTTP API, 0 for none: the frontends have one
}

// configData fills configTemplate.
type configData struct {
	IP         string
	LogLevel   string
	DBAddress  string
	DBUser     string
	DBPassword string
	Ports      map[Service]servicePorts
	HTTPPort   int // the frontend's HTTP API
	GRPCPort   int // the frontend's gRPC API
	Metrics    int // the metrics port of the process reading this config
	TLS        *tlsFiles
	Auth       *Auth
}

// tlsFiles are the files of the cluster's TLS settings.
type tlsFiles struct {
	CAFile, CertFile, KeyFile string
	// ServerName is a name the server certificate holds, which the
	// services check when they call each other.
	ServerName string
	// RequireClientCert makes the frontend require client certificates.
	RequireClientCert bool
}

// configTemplate is the server's static config, after the server's
// config/docker.yaml (the config of the official server image) with
// PostgreSQL and SQL visibility, and config/development-postgres12.yaml.
// Deliberately missing:
//   - dynamicConfigClient: without it the server uses a no-op dynamic config
//     client, so every limit has its built-in default (cmd/server/main.go);
//   - publicClient: the worker service finds the frontend through
//     membership, as in docker.yaml: the frontend itself without an
//     authorizer, else the internal frontend (USE_INTERNAL_FRONTEND in
//     docker.yaml), which trusts internode TLS instead of tokens;
//   - archival providers: archival is off (common/config/archival.go wants no
//     provider and no URI then);
//   - pprof.port: 0 keeps pprof off.
//
// Every service binds 127.0.0.1 with bindOnIP, like bindOnLocalHost but
// without its $LOCALHOST_IP override.
//
// With TLS, global.tls follows docker.yaml's: every service serves the one
// server certificate, internode traffic is mutual TLS, and the frontend
// requires client certificates when asked to. With Auth, global.authorization
// is the server's JWT authorizer and claim mapper reading the key set at
// JWKSURL, as config/development-jwt.yaml has it.
const configTemplate = `# Written by hookbridge's internal/cluster for one service process; the
# configs of the four processes differ only in global.metrics.
log:
  stdout: true
  level: {{.LogLevel}}

persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: 4
  datastores:
    postgres-default:
      sql:
        pluginName: "postgres12"
        databaseName: "temporal"
        connectAddr: "{{.DBAddress}}"
        connectProtocol: "tcp"
        user: "{{.DBUser}}"
        password: "{{.DBPassword}}"
        maxConns: 20
        maxIdleConns: 20
        maxConnLifetime: "1h"
    postgres-visibility:
      sql:
        pluginName: "postgres12"
        databaseName: "temporal_visibility"
        connectAddr: "{{.DBAddress}}"
        connectProtocol: "tcp"
        user: "{{.DBUser}}"
        password: "{{.DBPassword}}"
        maxConns: 10
        maxIdleConns: 10
        maxConnLifetime: "1h"

global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "{{.IP}}"
  metrics:
    prometheus:
      framework: "tally"
      timerType: "histogram"
      listenAddress: "{{.IP}}:{{.Metrics}}"
{{- with .TLS}}
  tls:
    internode:
      server:
        certFile: "{{.CertFile}}"
        keyFile: "{{.KeyFile}}"
        requireClientAuth: true
        clientCaFiles: ["{{.CAFile}}"]
      client:
        serverName: "{{.ServerName}}"
        rootCaFiles: ["{{.CAFile}}"]
    frontend:
      server:
        certFile: "{{.CertFile}}"
        keyFile: "{{.KeyFile}}"
        requireClientAuth: {{.RequireClientCert}}
        clientCaFiles: ["{{.CAFile}}"]
      client:
        serverName: "{{.ServerName}}"
        rootCaFiles: ["{{.CAFile}}"]
{{- end}}
{{- with .Auth}}
  authorization:
    jwtKeyProvider:
      keySourceURIs: ["{{.JWKSURL}}"]
      refreshInterval: 1m
    permissionsClaimName: permissions
    authorizer: default
    claimMapper: default
{{- end}}

services:
{{- range $name, $p := .Ports}}
  {{$name}}:
    rpc:
      grpcPort: {{$p.GRPC}}
      membershipPort: {{$p.Membership}}
      bindOnIP: "{{$.IP}}"
{{- if $p.HTTP}}
      httpPort: {{$p.HTTP}}
{{- end}}
{{- end}}

clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: "active"
  currentClusterName: "active"
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: "frontend"
      rpcAddress: "{{.IP}}:{{.GRPCPort}}"
      httpAddress: "{{.IP}}:{{.HTTPPort}}"

dcRedirectionPolicy:
  policy: "noop"

archival:
  history:
    state: "disabled"
    enableRead: false
  visibility:
    state: "disabled"
    enableRead: false

namespaceDefaults:
  archival:
    history:
      state: "disabled"
    visibility:
      state: "disabled"
`

// writeConfigs writes <dir>/<service>.yaml for every service, selected by
// `--env <service>`.
func writeConfigs(dir string, data configData) error {
	tmpl, err := template.New("config").Parse(configTemplate)
	if err != nil {
		return fmt.Errorf("write server config: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write server config: %w", err)
	}
	data.GRPCPort, data.HTTPPort = data.Ports[Frontend].GRPC, data.Ports[Frontend].HTTP
	for svc, p := range data.Ports {
		data.Metrics = p.Metrics
		var buf bytes.Buffer
		if err := tmpl.Execute(&buf, data); err != nil {
			return fmt.Errorf("write server config: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, string(svc)+".yaml"), buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write server config: %w", err)
		}
	}
	return nil
}
