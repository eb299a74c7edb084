{{/* Names and labels, the usual Helm way. */}}
{{- define "ferry-proxy.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "ferry-proxy.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "ferry-proxy.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "ferry-proxy.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "ferry-proxy.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ferry-proxy.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "ferry-proxy.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "ferry-proxy.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Where the stats endpoint listens: loopback unless metrics are enabled. */}}
{{- define "ferry-proxy.statsListen" -}}
{{- if .Values.metrics.enabled }}{{ printf "%s:%d" .Values.metrics.bindAddress (int .Values.metrics.port) }}{{ else }}{{ printf "127.0.0.1:%d" (int .Values.metrics.port) }}{{ end }}
{{- end }}

{{/* What the exec probes ask: the pod's own loopback, in the stats' family. */}}
{{- define "ferry-proxy.probeAddress" -}}
{{- if and .Values.metrics.enabled (hasPrefix "[" .Values.metrics.bindAddress) }}{{ printf "[::1]:%d" (int .Values.metrics.port) }}{{ else }}{{ printf "127.0.0.1:%d" (int .Values.metrics.port) }}{{ end }}
{{- end }}

{{/* The TLS secret's name: one the operator made, or the chart's own. */}}
{{- define "ferry-proxy.tlsSecret" -}}
{{- if .Values.tls.existingSecret }}{{ .Values.tls.existingSecret }}{{ else }}{{ include "ferry-proxy.fullname" . }}-tls{{ end }}
{{- end }}

{{- define "ferry-proxy.tlsEnabled" -}}
{{- if or .Values.tls.existingSecret (and .Values.tls.cert .Values.tls.key) }}true{{ end }}
{{- end }}

{{/*
The config file: the operator's text, then the [stats] and [tls] tables the
chart owns (where the stats listen, where the mounted key is). TOML allows a
table after the last one, so appending is enough; a config that defines
[stats] or [tls] itself is refused here instead of failing in the pod.
*/}}
{{- define "ferry-proxy.config" -}}
{{- /* [stats], [tls], their subtables, dotted keys (stats.x = ...) and inline
     tables (tls = {...}); not a listener's own `tls = true`. */}}
{{- if regexMatch "(?m)^\\s*(\\[\\s*(stats|tls)\\s*[\\].]|(stats|tls)\\s*\\.|stats\\s*=|tls\\s*=\\s*\\{)" .Values.config }}
{{- fail "values.config must not contain [stats] or [tls]: the chart writes them from .Values.metrics and .Values.tls" }}
{{- end }}
{{- .Values.config }}

# --- added by the Helm chart (values: metrics, tls) ---
[stats]
listen = {{ include "ferry-proxy.statsListen" . | quote }}
{{- if or (include "ferry-proxy.tlsEnabled" .) .Values.tls.keyType }}

[tls]
{{- if include "ferry-proxy.tlsEnabled" . }}
cert = "/run/ferry-tls/cert.pem"
key = "/run/ferry-tls/key.pem"
{{- end }}
{{- with .Values.tls.keyType }}
key_type = {{ . | quote }}
{{- end }}
{{- end }}
{{- end }}
