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

{{/* The container's environment: worker id, the credentials from existingSecret, extraEnv.
     Shared by the Deployment and the `helm test` Pod. */}}
{{- define "deltaport.env" -}}
{{- $auth := .Values.config.databricks.auth | default "oauth" -}}
- name: DELTAPORT_WORKER_ID
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
{{- if eq $auth "oauth" }}
- name: DELTAPORT_DATABRICKS_CLIENT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ .Values.existingSecret | quote }}
      key: {{ required "existingSecretKeys.databricksClientSecret is required for auth oauth" .Values.existingSecretKeys.databricksClientSecret | quote }}
{{- else }}
- name: DELTAPORT_DATABRICKS_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .Values.existingSecret | quote }}
      key: {{ required "existingSecretKeys.databricksToken is required for auth pat" .Values.existingSecretKeys.databricksToken | quote }}
{{- end }}
{{- range $key, $var := dict "kafkaSaslPassword" "DELTAPORT_KAFKA_SASL_PASSWORD" "kafkaSslKeyPassword" "DELTAPORT_KAFKA_SSL_KEY_PASSWORD" "kafkaSslKeystorePassword" "DELTAPORT_KAFKA_SSL_KEYSTORE_PASSWORD" "kafkaOauthbearerClientSecret" "DELTAPORT_KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET" "schemaRegistryPassword" "DELTAPORT_SCHEMA_REGISTRY_PASSWORD" }}
{{- with index $.Values.existingSecretKeys $key }}
- name: {{ $var }}
  valueFrom:
    secretKeyRef:
      name: {{ $.Values.existingSecret | quote }}
      key: {{ . | quote }}
{{- end }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The container's volume mounts: the config, /tmp, extraVolumeMounts. */}}
{{- define "deltaport.volumeMounts" -}}
- name: config
  mountPath: /etc/deltaport
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- with .Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The pod's volumes: the config, /tmp, extraVolumes. */}}
{{- define "deltaport.volumes" -}}
- name: config
  configMap:
    name: {{ include "deltaport.fullname" . }}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}
