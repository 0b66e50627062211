{{/* Chart name, truncated to 63 (DNS-1123). */}}
{{- define "deltaport.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: override, else the release name if it contains the chart name, else release-chart. */}}
{{- define "deltaport.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "deltaport.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "deltaport.selectorLabels" -}}
app.kubernetes.io/name: {{ include "deltaport.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "deltaport.labels" -}}
helm.sh/chart: {{ include "deltaport.chart" . }}
{{ include "deltaport.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: worker
{{- end }}

{{- define "deltaport.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "deltaport.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The HTTP port of /metrics, /healthz, /readyz: the port of config.http.listen. */}}
{{- define "deltaport.httpPort" -}}
{{- $listen := required "config.http.listen is required (host:port)" .Values.config.http.listen }}
{{- $port := splitList ":" $listen | last | int }}
{{- if or (lt $port 1) (gt $port 65535) }}
{{- fail (printf "config.http.listen %q: the chart needs a fixed port between 1 and 65535" $listen) }}
{{- end }}
{{- $port }}
{{- end }}

{{/* The worker's config.json, checked for what the chart must not let through. */}}
{{- define "deltaport.configJson" -}}
{{- $c := .Values.config }}
{{- $_ := required "config.kafka.bootstrap_servers is required" $c.kafka.bootstrap_servers }}
{{- $_ := required "config.databricks.host is required" $c.databricks.host }}
{{- $_ := required "config.databricks.warehouse_id is required" $c.databricks.warehouse_id }}
{{- range $k := list "client_secret" "token" }}
{{- if hasKey $c.databricks $k }}
{{- fail (printf "config.databricks.%s: secrets never go in the config; use existingSecret" $k) }}
{{- end }}
{{- end }}
{{- toPrettyJson $c }}
{{- end }}
