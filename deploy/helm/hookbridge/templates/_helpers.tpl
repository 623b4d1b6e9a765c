{{/*
The chart's name, or nameOverride.
*/}}
{{- define "hookbridge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every object's name: fullnameOverride, else the release name
and the chart name (once when one contains the other). 52 characters leave
room for the components' suffixes within Kubernetes' 63.
*/}}
{{- define "hookbridge.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
A component's object name. Args: (list $ "receiver").
*/}}
{{- define "hookbridge.componentName" -}}
{{- printf "%s-%s" (include "hookbridge.fullname" (index . 0)) (index . 1) }}
{{- end }}

{{/*
The chart label's value.
*/}}
{{- define "hookbridge.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every object of a component. Args: (list $ "receiver").
*/}}
{{- define "hookbridge.labels" -}}
{{- $ := index . 0 -}}
helm.sh/chart: {{ include "hookbridge.chart" $ }}
{{ include "hookbridge.selectorLabels" . }}
app.kubernetes.io/version: {{ $.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $.Release.Service }}
app.kubernetes.io/part-of: hookbridge
{{- end }}

{{/*
Labels that select a component's pods. Args: (list $ "receiver").
*/}}
{{- define "hookbridge.selectorLabels" -}}
{{- $ := index . 0 -}}
app.kubernetes.io/name: {{ include "hookbridge.name" $ }}
app.kubernetes.io/instance: {{ $.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/*
The ServiceAccount the pods run as.
*/}}
{{- define "hookbridge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "hookbridge.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image reference.
*/}}
{{- define "hookbridge.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
Where the secrets are mounted, read-only, in every pod.
*/}}
{{- define "hookbridge.secretsDir" -}}/var/run/secrets/hookbridge{{- end }}

{{/*
The prefix of a named project's variables: HOOKBRIDGE_PROJECT_<NAME>_ (the
name upper-cased, '-' as '_'), as internal/config reads them.
*/}}
{{- define "hookbridge.projectPrefix" -}}
{{- printf "HOOKBRIDGE_PROJECT_%s_" (. | upper | replace "-" "_") }}
{{- end }}

{{/*
The OpenAI projects served as a list of dicts: the default one (name "",
files under openai/default) when it has a secret, then .Values.projects.
Rendered as YAML; read it with fromYamlArray.
*/}}
{{- define "hookbridge.projects" -}}
{{- $projects := list -}}
{{- $d := .Values.openai -}}
{{- if or $d.webhookSecret.existingSecret $d.apiKey.existingSecret }}
{{- $projects = append $projects (dict "name" "" "dir" "default" "prefix" "" "webhookSecret" $d.webhookSecret "apiKey" $d.apiKey "baseURL" $d.baseURL "organization" $d.organization "project" $d.project) -}}
{{- end }}
{{- range .Values.projects }}
{{- $projects = append $projects (dict "name" .name "dir" .name "prefix" (include "hookbridge.projectPrefix" .name) "webhookSecret" (default dict .webhookSecret) "apiKey" (default dict .apiKey) "baseURL" (default "" .baseURL) "organization" (default "" .organization) "project" (default "" .project)) -}}
{{- end }}
{{- toYaml $projects }}
{{- end }}

{{/*
The environment of both processes: Temporal, projects, logs, traces.
*/}}
{{- define "hookbridge.commonEnv" -}}
{{- $dir := include "hookbridge.secretsDir" . -}}
{{- $t := .Values.temporal -}}
- name: TEMPORAL_ADDRESS
  value: {{ $t.address | quote }}
- name: TEMPORAL_NAMESPACE
  value: {{ $t.namespace | quote }}
- name: TEMPORAL_TASK_QUEUE
  value: {{ $t.taskQueue | quote }}
- name: TEMPORAL_CALL_TASK_QUEUE
  value: {{ $t.callTaskQueue | quote }}
{{- if $t.apiKey.existingSecret }}
- name: TEMPORAL_API_KEY_FILE
  value: {{ printf "%s/temporal/api-key" $dir | quote }}
{{- end }}
{{- if not (kindIs "invalid" $t.tls.enabled) }}
- name: TEMPORAL_TLS
  value: {{ $t.tls.enabled | toString | quote }}
{{- end }}
{{- if $t.tls.serverName }}
- name: TEMPORAL_TLS_SERVER_NAME
  value: {{ $t.tls.serverName | quote }}
{{- end }}
{{- if $t.tls.disableHostVerification }}
- name: TEMPORAL_TLS_DISABLE_HOST_VERIFICATION
  value: "true"
{{- end }}
{{- if $t.tls.clientCertificate.existingSecret }}
- name: TEMPORAL_TLS_CLIENT_CERT_PATH
  value: {{ printf "%s/temporal/tls/client.crt" $dir | quote }}
- name: TEMPORAL_TLS_CLIENT_KEY_PATH
  value: {{ printf "%s/temporal/tls/client.key" $dir | quote }}
{{- end }}
{{- if $t.tls.serverCA.existingSecret }}
- name: TEMPORAL_TLS_SERVER_CA_CERT_PATH
  value: {{ printf "%s/temporal/tls/ca.crt" $dir | quote }}
{{- end }}
{{- with .Values.projects }}
{{- $names := list -}}
{{- range . }}
{{- $names = append $names .name -}}
{{- end }}
- name: HOOKBRIDGE_PROJECTS
  value: {{ join "," $names | quote }}
{{- end }}
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- with .Values.tracing.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- end }}

{{/*
Each project's variables that a component reads: the receiver its signing
secrets, the worker its API key and API settings, every secret as a file.
Args: (list $ "receiver").
*/}}
{{- define "hookbridge.projectEnv" -}}
{{- $ := index . 0 -}}
{{- $component := index . 1 -}}
{{- $dir := include "hookbridge.secretsDir" $ -}}
{{- range $p := (include "hookbridge.projects" $ | fromYamlArray) }}
{{- if eq $component "receiver" }}
- name: {{ printf "%sOPENAI_WEBHOOK_SECRET_FILE" $p.prefix }}
  value: {{ printf "%s/openai/%s/webhook-secret" $dir $p.dir | quote }}
{{- else }}
- name: {{ printf "%sOPENAI_API_KEY_FILE" $p.prefix }}
  value: {{ printf "%s/openai/%s/api-key" $dir $p.dir | quote }}
{{- range $variable, $value := dict "OPENAI_BASE_URL" $p.baseURL "OPENAI_ORGANIZATION" $p.organization "OPENAI_PROJECT" $p.project }}
{{- if $value }}
- name: {{ printf "%s%s" $p.prefix $variable }}
  value: {{ $value | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The projected volume of a component's secrets: each file it needs at its
path under hookbridge.secretsDir. A whole volume, never a subPath, so that
Kubernetes' atomic ..data swap delivers a rotated Secret and the processes'
file watchers take it up. Args: (list $ "receiver").
*/}}
{{- define "hookbridge.secretSources" -}}
{{- $ := index . 0 -}}
{{- $component := index . 1 -}}
{{- $t := $.Values.temporal -}}
{{- range (include "hookbridge.projects" $ | fromYamlArray) }}
{{- if and (eq $component "receiver") .webhookSecret.existingSecret }}
- secret:
    name: {{ .webhookSecret.existingSecret }}
    items:
      - key: {{ .webhookSecret.key }}
        path: {{ printf "openai/%s/webhook-secret" .dir }}
{{- end }}
{{- if and (eq $component "worker") .apiKey.existingSecret }}
- secret:
    name: {{ .apiKey.existingSecret }}
    items:
      - key: {{ .apiKey.key }}
        path: {{ printf "openai/%s/api-key" .dir }}
{{- end }}
{{- end }}
{{- if $t.apiKey.existingSecret }}
- secret:
    name: {{ $t.apiKey.existingSecret }}
    items:
      - key: {{ $t.apiKey.key }}
        path: temporal/api-key
{{- end }}
{{- with $t.tls.clientCertificate }}
{{- if .existingSecret }}
- secret:
    name: {{ .existingSecret }}
    items:
      - key: {{ .certKey }}
        path: temporal/tls/client.crt
      - key: {{ .keyKey }}
        path: temporal/tls/client.key
{{- end }}
{{- end }}
{{- with $t.tls.serverCA }}
{{- if .existingSecret }}
- secret:
    name: {{ .existingSecret }}
    items:
      - key: {{ .key }}
        path: temporal/tls/ca.crt
{{- end }}
{{- end }}
{{- end }}

{{/*
The pod spec parts both Deployments share: service account, security,
scheduling. Args: (list $ .Values.receiver).
*/}}
{{- define "hookbridge.podCommon" -}}
{{- $ := index . 0 -}}
{{- $c := index . 1 -}}
serviceAccountName: {{ include "hookbridge.serviceAccountName" $ }}
automountServiceAccountToken: false
{{- with $.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml $.Values.podSecurityContext | nindent 2 }}
{{- with $c.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
Stops the render on values that would make a broken deployment, with a
message naming the value.
*/}}
{{- define "hookbridge.validate" -}}
{{- $r := .Values.receiver -}}
{{- $w := .Values.worker -}}
{{- if le (int $r.terminationGracePeriodSeconds) (add (int $r.shutdownTimeoutSeconds) (int $r.preStopSleepSeconds) | int) }}
{{- fail (printf "receiver.terminationGracePeriodSeconds (%v) must exceed receiver.preStopSleepSeconds + receiver.shutdownTimeoutSeconds (%v + %v)" $r.terminationGracePeriodSeconds $r.preStopSleepSeconds $r.shutdownTimeoutSeconds) }}
{{- end }}
{{- if le (int $w.terminationGracePeriodSeconds) (int $w.shutdownTimeoutSeconds) }}
{{- fail (printf "worker.terminationGracePeriodSeconds (%v) must exceed worker.shutdownTimeoutSeconds (%v): running activities would be killed" $w.terminationGracePeriodSeconds $w.shutdownTimeoutSeconds) }}
{{- end }}
{{- $names := list -}}
{{- range $i, $p := .Values.projects }}
{{- if not (regexMatch "^[a-z0-9][a-z0-9-]{0,62}$" (toString $p.name)) }}
{{- fail (printf "projects[%d].name %q: want lower-case letters, digits and '-' (a path segment and a variable name)" $i (toString $p.name)) }}
{{- end }}
{{- if or (eq $p.name "default") (has $p.name $names) }}
{{- fail (printf "projects[%d].name %q: \"default\" and repeated names are not allowed" $i $p.name) }}
{{- end }}
{{- $names = append $names $p.name -}}
{{- if not (and $p.webhookSecret $p.webhookSecret.existingSecret $p.webhookSecret.key) }}
{{- fail (printf "projects[%d] (%s): webhookSecret.existingSecret and webhookSecret.key are required" $i $p.name) }}
{{- end }}
{{- if not (and $p.apiKey $p.apiKey.existingSecret $p.apiKey.key) }}
{{- fail (printf "projects[%d] (%s): apiKey.existingSecret and apiKey.key are required" $i $p.name) }}
{{- end }}
{{- end }}
{{- if and (not .Values.openai.webhookSecret.existingSecret) (not .Values.projects) }}
{{- fail "openai.webhookSecret.existingSecret is empty and no projects are listed: the receiver would serve nothing" }}
{{- end }}
{{- if ne (empty .Values.openai.webhookSecret.existingSecret) (empty .Values.openai.apiKey.existingSecret) }}
{{- fail "openai.webhookSecret.existingSecret and openai.apiKey.existingSecret: give both (the default project) or neither (named projects only)" }}
{{- end }}
{{- end }}
