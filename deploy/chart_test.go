package deploy

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log"
	"maps"
	"math/big"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"go.yaml.in/yaml/v3"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	"helm.sh/helm/v3/pkg/releaseutil"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/hookbridge/hookbridge/internal/config"
)

const (
	chartDir    = "helm/hookbridge"
	releaseName = "hb"
	namespace   = "hookbridge"
)

// valueSets are the installations the chart is rendered for, each with
// what the rendered processes must then be configured with.
var valueSets = []struct {
	name   string
	values string
	// projects are the OpenAI projects both processes serve ("" the default).
	projects []string
	// temporalAPIKey and mTLS say how the processes reach Temporal.
	temporalAPIKey, mTLS bool
	// monitoring: ServiceMonitor, PrometheusRule and dashboard ConfigMap.
	monitoring bool
	// fixed: no HPA and no PDBs.
	fixed bool
}{
	{name: "defaults", projects: []string{""}},
	{
		name: "several projects",
		values: `
projects:
  - name: staging
    webhookSecret: {existingSecret: hookbridge-staging, key: webhook-secret}
    apiKey: {existingSecret: hookbridge-staging, key: api-key}
    organization: org-staging
  - name: team-a
    webhookSecret: {existingSecret: hookbridge-team-a, key: signing}
    apiKey: {existingSecret: hookbridge-team-a, key: openai}
    baseURL: https://eu.api.openai.com/v1
    project: proj_team_a
`,
		projects: []string{"", "staging", "team-a"},
	},
	{
		name: "named projects only",
		values: `
openai:
  webhookSecret: {existingSecret: ""}
  apiKey: {existingSecret: ""}
projects:
  - name: prod
    webhookSecret: {existingSecret: hookbridge-prod, key: webhook-secret}
    apiKey: {existingSecret: hookbridge-prod, key: api-key}
`,
		projects: []string{"prod"},
	},
	{
		name: "Temporal Cloud with an API key from a Secret",
		values: `
temporal:
  address: hookbridge.a1b2c.tmprl.cloud:7233
  namespace: hookbridge.a1b2c
  apiKey: {existingSecret: temporal-cloud, key: api-key}
`,
		projects:       []string{""},
		temporalAPIKey: true,
	},
	{
		name: "mTLS to a self-hosted Temporal",
		values: `
temporal:
  address: temporal-frontend.temporal.svc:7233
  tls:
    serverName: temporal-frontend
    clientCertificate: {existingSecret: hookbridge-temporal-client}
    serverCA: {existingSecret: temporal-ca}
`,
		projects: []string{""},
		mTLS:     true,
	},
	{
		name: "ServiceMonitor, PrometheusRule and dashboard on; no autoscaling, no PDBs, blobs in S3",
		values: `
metrics:
  serviceMonitor: {enabled: true, labels: {release: kube-prometheus-stack}}
  prometheusRule: {enabled: true}
  grafanaDashboard: {enabled: true}
receiver:
  autoscaling: {enabled: false}
  replicaCount: 3
  podDisruptionBudget: {enabled: false}
worker:
  podDisruptionBudget: {enabled: false}
  blobURL: s3://hookbridge-blobs?region=eu-west-1
`,
		projects:   []string{""},
		monitoring: true,
		fixed:      true,
	},
}

// A rendered chart: its objects by kind.
type rendered struct {
	deployments     map[string]*appsv1.Deployment // by component
	services        map[string]*corev1.Service    // by component
	hpas            []*autoscalingv2.HorizontalPodAutoscaler
	pdbs            []*policyv1.PodDisruptionBudget
	serviceAccounts []*corev1.ServiceAccount
	configMaps      []*corev1.ConfigMap
	serviceMonitors []*monitoringv1.ServiceMonitor
	prometheusRules []*monitoringv1.PrometheusRule
}

func TestChartRendersValidObjects(t *testing.T) {
	for _, vs := range valueSets {
		t.Run(vs.name, func(t *testing.T) {
			r := render(t, vs.values)
			for _, component := range []string{"receiver", "worker"} {
				if r.deployments[component] == nil || r.services[component] == nil {
					t.Fatalf("no %s Deployment or Service", component)
				}
			}
			checkSecurity(t, r)
			checkSelectors(t, r)
			receiverEnv := checkContainer(t, r.deployments["receiver"], "receiver", "RECEIVER_ADDR", "RECEIVER_SHUTDOWN_TIMEOUT")
			workerEnv := checkContainer(t, r.deployments["worker"], "worker", "WORKER_METRICS_ADDR", "WORKER_SHUTDOWN_TIMEOUT")

			// The rendered environments are what hookbridge's own
			// configuration accepts, with every secret a file.
			rc, err := config.ParseReceiver(receiverEnv)
			if err != nil {
				t.Fatalf("the receiver's environment: %v", err)
			}
			wc, err := config.ParseWorker(workerEnv)
			if err != nil {
				t.Fatalf("the worker's environment: %v", err)
			}
			if got := projectNames(rc.Projects); !slices.Equal(got, vs.projects) {
				t.Errorf("receiver projects %q, want %q", got, vs.projects)
			}
			if got := projectNames(wc.Projects); !slices.Equal(got, vs.projects) {
				t.Errorf("worker projects %q, want %q", got, vs.projects)
			}
			for _, p := range rc.Projects {
				if p.WebhookSecret.File == "" || p.WebhookSecret.Value != "" {
					t.Errorf("receiver project %q: webhook secret not from a file: %+v", p.Name, p.WebhookSecret)
				}
			}
			for _, p := range wc.Projects {
				if p.APIKey.File == "" || p.APIKey.Value != "" {
					t.Errorf("worker project %q: API key not from a file: %+v", p.Name, p.APIKey)
				}
			}
			for _, temporal := range []config.Temporal{rc.Temporal, wc.Temporal} {
				if got := temporal.APIKeyFile != ""; got != vs.temporalAPIKey {
					t.Errorf("TEMPORAL_API_KEY_FILE set %v, want %v", got, vs.temporalAPIKey)
				}
				if got := temporal.TLSClientCertPath != "" && temporal.TLSServerCACertPath != ""; got != vs.mTLS {
					t.Errorf("mTLS files set %v, want %v", got, vs.mTLS)
				}
				opts, err := temporal.ClientOptions()
				if err != nil {
					t.Fatal(err)
				}
				if tlsOn := opts.ConnectionOptions.TLS != nil; tlsOn != (vs.temporalAPIKey || vs.mTLS) {
					t.Errorf("TLS to Temporal %v, want %v", tlsOn, vs.temporalAPIKey || vs.mTLS)
				}
			}
			checkMonitoring(t, r, vs.monitoring)
			if wantHA := !vs.fixed; (len(r.hpas) == 1) != wantHA || (len(r.pdbs) == 2) != wantHA {
				t.Errorf("%d HPAs and %d PDBs; want the receiver's HPA and both PDBs: %v", len(r.hpas), len(r.pdbs), wantHA)
			}
			if receiver := r.deployments["receiver"]; vs.fixed && (receiver.Spec.Replicas == nil || *receiver.Spec.Replicas != 3) {
				t.Errorf("receiver replicas %v without autoscaling, want the 3 configured", receiver.Spec.Replicas)
			}
		})
	}
}

// The chart refuses values that would make a broken deployment, saying
// which value is wrong.
func TestChartRefusesBrokenValues(t *testing.T) {
	tests := []struct{ name, values, want string }{
		{"worker grace period within its shutdown timeout", `worker: {shutdownTimeoutSeconds: 60, terminationGracePeriodSeconds: 60}`, "worker.terminationGracePeriodSeconds (60) must exceed worker.shutdownTimeoutSeconds (60)"},
		{"receiver grace period within its drain", `receiver: {shutdownTimeoutSeconds: 20, preStopSleepSeconds: 5, terminationGracePeriodSeconds: 25}`, "receiver.terminationGracePeriodSeconds (25) must exceed"},
		{"a project name that is no path segment", `projects: [{name: Team_A, webhookSecret: {existingSecret: s, key: k}, apiKey: {existingSecret: s, key: k}}]`, `projects[0].name "Team_A"`},
		{"a project named default", `projects: [{name: default, webhookSecret: {existingSecret: s, key: k}, apiKey: {existingSecret: s, key: k}}]`, `projects[0].name "default"`},
		{"a project without its API key", `projects: [{name: staging, webhookSecret: {existingSecret: s, key: k}}]`, "projects[0] (staging): apiKey.existingSecret"},
		{"no project at all", `openai: {webhookSecret: {existingSecret: ""}, apiKey: {existingSecret: ""}}`, "the receiver would serve nothing"},
		{"a default project without its API key", `openai: {apiKey: {existingSecret: ""}}`, "give both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := renderManifest(t, tt.values)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("render: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// helm lint, with its warnings as errors (helm lint --strict), on the
// defaults and on each value set.
func TestChartLints(t *testing.T) {
	for _, vs := range valueSets {
		linter := lint.AllWithKubeVersion(chartDir, values(t, vs.values), namespace, nil)
		for _, m := range linter.Messages {
			if m.Severity >= support.WarningSev {
				t.Errorf("%s: %s", vs.name, m)
			} else {
				t.Logf("%s: %s", vs.name, m)
			}
		}
	}
}

// TestMain keeps Helm's log lines for the tests to check: its loader logs
// each symbolic link it follows, and the chart's files/ are links, on
// purpose, to deploy/'s rules and dashboard.
func TestMain(m *testing.M) {
	log.SetOutput(&helmLog)
	code := m.Run()
	for line := range strings.Lines(helmLog.String()) {
		if !strings.Contains(line, "found symbolic link in path: ") || !strings.Contains(line, "/deploy/helm/hookbridge/files/") {
			fmt.Fprintf(os.Stderr, "helm logged: %s", line)
			code = 1
		}
	}
	os.Exit(code)
}

var helmLog strings.Builder

func values(t *testing.T, doc string) map[string]any {
	t.Helper()
	v := map[string]any{}
	if err := yaml.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatalf("values: %v", err)
	}
	return v
}

// renderManifest renders the chart as `helm template` does.
func renderManifest(t *testing.T, doc string) (string, error) {
	t.Helper()
	chart, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	install := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
	install.DryRun, install.ClientOnly, install.Replace = true, true, true
	install.ReleaseName, install.Namespace = releaseName, namespace
	rel, err := install.Run(chart, values(t, doc))
	if err != nil {
		return "", err
	}
	return rel.Manifest, nil
}

// render renders the chart and decodes every object strictly into its
// Kubernetes API type: an unknown or misplaced field fails.
func render(t *testing.T, doc string) rendered {
	t.Helper()
	manifest, err := renderManifest(t, doc)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	r := rendered{deployments: map[string]*appsv1.Deployment{}, services: map[string]*corev1.Service{}}
	docs := releaseutil.SplitManifests(manifest)
	keys := slices.Sorted(maps.Keys(docs))
	for _, key := range keys {
		doc := docs[key]
		var meta metav1.TypeMeta
		if err := sigsyaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		switch gvk := meta.APIVersion + " " + meta.Kind; gvk {
		case "apps/v1 Deployment":
			d := decodeStrict[appsv1.Deployment](t, doc)
			r.deployments[d.Labels["app.kubernetes.io/component"]] = d
		case "v1 Service":
			s := decodeStrict[corev1.Service](t, doc)
			r.services[s.Labels["app.kubernetes.io/component"]] = s
		case "autoscaling/v2 HorizontalPodAutoscaler":
			r.hpas = append(r.hpas, decodeStrict[autoscalingv2.HorizontalPodAutoscaler](t, doc))
		case "policy/v1 PodDisruptionBudget":
			r.pdbs = append(r.pdbs, decodeStrict[policyv1.PodDisruptionBudget](t, doc))
		case "v1 ServiceAccount":
			r.serviceAccounts = append(r.serviceAccounts, decodeStrict[corev1.ServiceAccount](t, doc))
		case "v1 ConfigMap":
			r.configMaps = append(r.configMaps, decodeStrict[corev1.ConfigMap](t, doc))
		case "monitoring.coreos.com/v1 ServiceMonitor":
			r.serviceMonitors = append(r.serviceMonitors, decodeStrict[monitoringv1.ServiceMonitor](t, doc))
		case "monitoring.coreos.com/v1 PrometheusRule":
			r.prometheusRules = append(r.prometheusRules, decodeStrict[monitoringv1.PrometheusRule](t, doc))
		default:
			t.Fatalf("%s: an object this test does not know: %s", key, gvk)
		}
	}
	return r
}

// decodeStrict decodes a rendered object into its API type T; a field T
// does not have fails, as a duplicate one does.
func decodeStrict[T any](t *testing.T, doc string) *T {
	t.Helper()
	obj := new(T)
	if err := sigsyaml.UnmarshalStrict([]byte(doc), obj); err != nil {
		t.Fatalf("%T does not decode strictly: %v\n%s", obj, err, doc)
	}
	return obj
}

// Non-root, read-only root file system, no capabilities, no privilege
// escalation, no Kubernetes API token: for every pod and container.
func checkSecurity(t *testing.T, r rendered) {
	t.Helper()
	for component, d := range r.deployments {
		pod := d.Spec.Template.Spec
		if sc := pod.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 ||
			sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: pod security context %+v", component, sc)
		}
		if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
			t.Errorf("%s: the Kubernetes API token is mounted", component)
		}
		for _, c := range pod.Containers {
			sc := c.SecurityContext
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
				sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
				sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
				t.Errorf("%s/%s: container security context %+v", component, c.Name, sc)
			}
			if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
				t.Errorf("%s/%s: resources %+v, want CPU and memory requests and a memory limit", component, c.Name, c.Resources)
			}
		}
	}
	for _, sa := range r.serviceAccounts {
		if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
			t.Errorf("ServiceAccount %s mounts its token", sa.Name)
		}
	}
}

// Each Service, PDB, HPA and ServiceMonitor reaches the pods it is for.
func checkSelectors(t *testing.T, r rendered) {
	t.Helper()
	for component, d := range r.deployments {
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("%s: the Deployment's selector %v does not match its pods %v (%v)", component, d.Spec.Selector, d.Spec.Template.Labels, err)
		}
		if s := r.services[component]; !labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("%s: the Service's selector %v does not match the pods", component, s.Spec.Selector)
		}
		for _, other := range r.deployments {
			if other != d && labels.SelectorFromSet(r.services[component].Spec.Selector).Matches(labels.Set(other.Spec.Template.Labels)) {
				t.Errorf("%s: the Service also selects the pods of %s", component, other.Name)
			}
		}
	}
	// With PDBs on, each Deployment has its own.
	budgets := map[string]int{}
	for _, p := range r.pdbs {
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err != nil {
			t.Fatal(err)
		}
		for component, d := range r.deployments {
			if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
				budgets[component]++
			}
		}
		if (p.Spec.MinAvailable == nil) == (p.Spec.MaxUnavailable == nil) {
			t.Errorf("PDB %s: minAvailable %v, maxUnavailable %v: want one", p.Name, p.Spec.MinAvailable, p.Spec.MaxUnavailable)
		}
	}
	if len(r.pdbs) > 0 && (len(r.pdbs) != len(r.deployments) || budgets["receiver"] != 1 || budgets["worker"] != 1) {
		t.Errorf("%d PDBs cover the Deployments %v; want one each", len(r.pdbs), budgets)
	}
	for _, h := range r.hpas {
		receiver := r.deployments["receiver"]
		if h.Spec.ScaleTargetRef.Kind != "Deployment" || h.Spec.ScaleTargetRef.Name != receiver.Name || receiver.Spec.Replicas != nil {
			t.Errorf("HPA %s scales %+v; the receiver Deployment %s sets replicas %v", h.Name, h.Spec.ScaleTargetRef, receiver.Name, receiver.Spec.Replicas)
		}
		if len(h.Spec.Metrics) != 1 || h.Spec.Metrics[0].Resource == nil || h.Spec.Metrics[0].Resource.Name != corev1.ResourceCPU {
			t.Errorf("HPA %s metrics %+v, want CPU", h.Name, h.Spec.Metrics)
		}
	}
}

// checkContainer checks a component's container: its probes reach the
// port of its address variable, its grace period outlasts its shutdown
// timeout (and the receiver's preStop sleep), every file it is given lies
// in a mounted volume (a Secret's key for a secret), and what it writes lies
// on a writable mount. It returns the container's environment with every
// file path moved into a temporary directory holding such a file, for
// internal/config to parse.
func checkContainer(t *testing.T, d *appsv1.Deployment, component, addrVariable, shutdownVariable string) map[string]string {
	t.Helper()
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%s: %d containers, want 1", component, len(pod.Containers))
	}
	c := pod.Containers[0]
	env := map[string]string{}
	for _, e := range c.Env {
		if _, dup := env[e.Name]; dup {
			t.Errorf("%s: %s set twice", component, e.Name)
		}
		if e.ValueFrom != nil {
			t.Errorf("%s: %s comes from %+v; secrets are files", component, e.Name, e.ValueFrom)
		}
		env[e.Name] = e.Value
	}

	// Probes: /healthz and /readyz on the port the process listens on.
	_, port, ok := strings.Cut(env[addrVariable], ":")
	if !ok {
		t.Fatalf("%s: %s = %q, want :port", component, addrVariable, env[addrVariable])
	}
	for _, p := range []struct {
		probe *corev1.Probe
		path  string
	}{{c.LivenessProbe, "/healthz"}, {c.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path {
			t.Errorf("%s: probe %+v, want GET %s", component, p.probe, p.path)
			continue
		}
		if got := containerPort(c, p.probe.HTTPGet.Port.String()); fmt.Sprint(got) != port {
			t.Errorf("%s: the %s probe's port %s is %d, but %s listens on %s", component, p.path, p.probe.HTTPGet.Port.String(), got, addrVariable, port)
		}
		if p.probe.TimeoutSeconds <= 0 || p.probe.PeriodSeconds <= p.probe.TimeoutSeconds {
			t.Errorf("%s: the %s probe's timeout %ds, period %ds", component, p.path, p.probe.TimeoutSeconds, p.probe.PeriodSeconds)
		}
	}

	// Graceful termination.
	shutdown, err := time.ParseDuration(env[shutdownVariable])
	if err != nil {
		t.Fatalf("%s: %s: %v", component, shutdownVariable, err)
	}
	var preStop time.Duration
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
		preStop = time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	}
	if pod.TerminationGracePeriodSeconds == nil || time.Duration(*pod.TerminationGracePeriodSeconds)*time.Second <= shutdown+preStop {
		t.Errorf("%s: terminationGracePeriodSeconds %v, want more than %s %s plus a preStop sleep of %s", component, pod.TerminationGracePeriodSeconds, shutdownVariable, shutdown, preStop)
	}

	// Files: each lies in a volume, and each secret is a key of a Secret.
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	tmp := t.TempDir()
	for _, name := range slices.Sorted(maps.Keys(env)) {
		if !strings.HasSuffix(name, "_FILE") && !(strings.HasPrefix(name, "TEMPORAL_TLS_") && strings.HasSuffix(name, "_PATH")) {
			continue
		}
		file := env[name]
		mount, rel := mountOf(c, file)
		if mount == nil {
			t.Errorf("%s: %s = %s is in no mounted volume", component, name, file)
			continue
		}
		v := volumes[mount.Name]
		if v.Projected == nil || !mount.ReadOnly {
			t.Errorf("%s: %s = %s is on %s, not a read-only volume of Secrets", component, name, file, mount.Name)
			continue
		}
		if !projects(v.Projected, rel) {
			t.Errorf("%s: %s = %s: no Secret of the volume %s puts a key at %s", component, name, file, v.Name, rel)
			continue
		}
		env[name] = writeSecretFile(t, filepath.Join(tmp, rel))
	}
	if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == "/tmp" && !m.ReadOnly }) {
		t.Errorf("%s: no writable /tmp on a read-only root file system", component)
	}
	if blob, ok := strings.CutPrefix(env["BLOB_URL"], "file://"); ok {
		dir, _, _ := strings.Cut(blob, "?")
		if mount, _ := mountOf(c, dir); mount == nil || mount.ReadOnly || volumes[mount.Name].EmptyDir == nil {
			t.Errorf("%s: BLOB_URL's directory %s is on no writable volume (root is read-only)", component, dir)
		}
		env["BLOB_URL"] = "file://" + tmp
	}
	return env
}

func containerPort(c corev1.Container, port string) int32 {
	for _, p := range c.Ports {
		if p.Name == port || fmt.Sprint(p.ContainerPort) == port {
			return p.ContainerPort
		}
	}
	return 0
}

// mountOf returns the mount that holds file, and file's path in it.
func mountOf(c corev1.Container, file string) (*corev1.VolumeMount, string) {
	for i, m := range c.VolumeMounts {
		if rel, ok := strings.CutPrefix(path.Clean(file), strings.TrimSuffix(m.MountPath, "/")+"/"); ok {
			return &c.VolumeMounts[i], rel
		}
	}
	return nil, ""
}

// projects reports whether a Secret of the projected volume puts one of its
// keys at rel.
func projects(v *corev1.ProjectedVolumeSource, rel string) bool {
	for _, s := range v.Sources {
		if s.Secret == nil || s.Secret.Name == "" {
			continue
		}
		for _, item := range s.Secret.Items {
			if item.Key != "" && item.Path == rel {
				return true
			}
		}
	}
	return false
}

// writeSecretFile writes what Kubernetes would put at file: a secret of the
// kind its name says.
func writeSecretFile(t *testing.T, file string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		t.Fatal(err)
	}
	var content []byte
	switch base := filepath.Base(file); base {
	case "webhook-secret":
		content = []byte("whsec_ZTJlLXRlc3Qtc2VjcmV0LW9mLWF0LWxlYXN0LTI0LWJ5dGVz\n")
	case "api-key":
		content = []byte("sk-test\n")
	case "client.crt", "ca.crt":
		content = testCert(t).cert
	case "client.key":
		content = testCert(t).key
	default:
		t.Fatalf("a secret file this test does not know: %s", base)
	}
	if err := os.WriteFile(file, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

type pemPair struct{ cert, key []byte }

var testCertCache *pemPair

// testCert returns a self-signed certificate and its key, PEM-encoded.
func testCert(t *testing.T) pemPair {
	t.Helper()
	if testCertCache != nil {
		return *testCertCache
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hookbridge"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	testCertCache = &pemPair{
		cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		key:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}
	return *testCertCache
}

func projectNames(ps []config.Project) []string {
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	return names
}

// With monitoring on, the ServiceMonitor scrapes the metrics port of both
// Services, the PrometheusRule holds deploy/prometheus's rules, and the
// dashboard ConfigMap holds deploy/grafana's dashboard; with it off, none
// of them is rendered.
func checkMonitoring(t *testing.T, r rendered, on bool) {
	t.Helper()
	if !on {
		if len(r.serviceMonitors)+len(r.prometheusRules)+len(r.configMaps) > 0 {
			t.Errorf("monitoring off, yet %d ServiceMonitors, %d PrometheusRules, %d ConfigMaps", len(r.serviceMonitors), len(r.prometheusRules), len(r.configMaps))
		}
		return
	}
	if len(r.serviceMonitors) != 1 || len(r.prometheusRules) != 1 || len(r.configMaps) != 1 {
		t.Fatalf("%d ServiceMonitors, %d PrometheusRules, %d ConfigMaps, want one each", len(r.serviceMonitors), len(r.prometheusRules), len(r.configMaps))
	}
	sm := r.serviceMonitors[0]
	if sm.Labels["release"] != "kube-prometheus-stack" {
		t.Errorf("ServiceMonitor labels %v lack the configured release label", sm.Labels)
	}
	sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	for component, s := range r.services {
		if !sel.Matches(labels.Set(s.Labels)) {
			t.Errorf("the ServiceMonitor does not select the %s Service", component)
		}
		for _, e := range sm.Spec.Endpoints {
			if !slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == e.Port }) {
				t.Errorf("the %s Service has no port %q to scrape", component, e.Port)
			}
		}
	}
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Path != "/metrics" {
		t.Errorf("ServiceMonitor endpoints %+v", sm.Spec.Endpoints)
	}

	var file monitoringv1.PrometheusRuleSpec
	b, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := sigsyaml.UnmarshalStrict(b, &file); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	got, _ := sigsyaml.Marshal(r.prometheusRules[0].Spec)
	want, _ := sigsyaml.Marshal(file)
	if string(got) != string(want) {
		t.Errorf("the PrometheusRule differs from %s:\n%s", rulesFile, got)
	}

	dashboard, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	cm := r.configMaps[0]
	if cm.Labels["grafana_dashboard"] != "1" || strings.TrimSpace(cm.Data["hookbridge.json"]) != strings.TrimSpace(string(dashboard)) {
		t.Errorf("the dashboard ConfigMap (labels %v) does not hold %s", cm.Labels, dashboardFile)
	}
}

// The chart ships the same rules and dashboard as deploy/: its files are
// symbolic links, not copies.
func TestChartShipsTheDeployFiles(t *testing.T) {
	for link, target := range map[string]string{
		chartDir + "/files/hookbridge-rules.yaml": rulesFile,
		chartDir + "/files/hookbridge.json":       dashboardFile,
	} {
		fi, err := os.Lstat(link)
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s is not a symbolic link (%v)", link, err)
			continue
		}
		a, err1 := os.ReadFile(link)
		b, err2 := os.ReadFile(target)
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
			t.Errorf("%s does not lead to %s (%v, %v)", link, target, err1, err2)
		}
	}
}
