#!/usr/bin/env bash
# The chart checks: render helm/deltaport with the default and the ci/ values,
# check the manifests (tests/helm/chartcheck: kinds, selectors, probes, the
# helm test Pod, KEDA triggers, the PrometheusRule's metrics), run the real
# `deltaport config check` on each rendered config.json, check that invalid
# values fail with a clear error (the config part of the schema is generated
# from the configuration table and must be in sync). Where a helm binary
# exists, `helm lint --strict` and `helm template` run as well.
# Usage: check_chart.sh SOURCE_DIR TOOLS_DIR DELTAPORT_BIN
set -uo pipefail
src=$1 tools=$2 bin=$3
chart=$src/helm/deltaport
work=$(mktemp -d "${TMPDIR:-/tmp}/dp-helm-XXXXXX")
trap 'rm -rf "$work"' EXIT
fails=0
fail() { echo "check_chart: FAIL: $*" >&2; fails=$((fails + 1)); }

for t in helm-render chartcheck; do
  [ -x "$tools/$t" ] || { echo "check_chart: FAIL: $tools/$t not built (tests/helm/build_tools.sh)" >&2; exit 1; }
done
[ -x "$bin" ] || { echo "check_chart: FAIL: $bin missing" >&2; exit 1; }

# case  values-file  api-versions  expected kinds  forbidden kinds
cases=(
  "default|ci/default-values.yaml||ConfigMap,Deployment,Service,ServiceAccount,PodDisruptionBudget,Pod|HorizontalPodAutoscaler,ScaledObject,ServiceMonitor,PrometheusRule"
  "production|ci/production-values.yaml|keda.sh/v1alpha1,monitoring.coreos.com/v1|ConfigMap,Deployment,Service,ServiceAccount,PodDisruptionBudget,ScaledObject,ServiceMonitor,PrometheusRule,Pod|HorizontalPodAutoscaler"
  "hpa-pat|ci/hpa-pat-values.yaml||Deployment,HorizontalPodAutoscaler,Pod|ScaledObject"
  "tls-regex-skipapicheck|ci/tls-values.yaml|monitoring.coreos.com/v1|ConfigMap,Deployment,ScaledObject,PrometheusRule,Pod|HorizontalPodAutoscaler"
)
for c in "${cases[@]}"; do
  IFS='|' read -r name values apis expect forbid <<<"$c"
  out=$work/$name.yaml
  if ! "$tools/helm-render" -f "$chart/$values" --api-versions "$apis" --name deltaport \
       "$chart" >"$out" 2>"$work/$name.err"; then
    fail "$name: render failed: $(cat "$work/$name.err")"; continue
  fi
  "$tools/helm-render" --notes -f "$chart/$values" "$chart" >"$work/$name.notes" 2>&1 ||
    fail "$name: NOTES.txt does not render: $(cat "$work/$name.notes")"
  "$tools/chartcheck" -manifests "$out" -expect "$expect" -forbid "$forbid" \
    -config-out "$work/$name.json" -metrics-src "$src/src/ops/metrics.c" -run-as 10001 ||
    { fail "$name: manifest checks"; continue; }
  # The image ships the schemas under /usr/local/share; here they are in the tree.
  sed "s|/usr/local/share/deltaport/schemas|$src/schemas|" "$work/$name.json" >"$work/$name.local.json"
  # The credentials the rendered pod gets, as env values for config check.
  envs=(DELTAPORT_DATABRICKS_CLIENT_SECRET=x DELTAPORT_DATABRICKS_TOKEN=x)
  for v in DELTAPORT_KAFKA_SASL_PASSWORD DELTAPORT_KAFKA_SSL_KEY_PASSWORD DELTAPORT_SCHEMA_REGISTRY_PASSWORD; do
    grep -q "name: $v\$" "$out" && envs+=("$v=chart-check-value")
  done
  if ! msg=$(env "${envs[@]}" "$bin" config check --config "$work/$name.local.json" 2>&1); then
    fail "$name: deltaport config check refused the rendered config: $msg"
  else
    echo "check_chart: $name: $msg"
  fi
done

# Values the chart must refuse, with the words the error must contain.
must_fail() {   # name  expected-words  yaml
  local name=$1 words=$2
  printf '%s\n' "$3" >"$work/$name-values.yaml"
  if "$tools/helm-render" -f "$chart/ci/default-values.yaml" -f "$work/$name-values.yaml" \
       "$chart" >/dev/null 2>"$work/$name.err"; then
    fail "$name: rendered, expected an error"
  elif ! grep -q "$words" "$work/$name.err"; then
    fail "$name: error does not say '$words': $(cat "$work/$name.err")"
  else
    echo "check_chart: $name refused: $(grep -m1 "$words" "$work/$name.err")"
  fi
}
must_fail keda-and-hpa "exclusive" $'keda:\n  enabled: true\n  skipApiCheck: true\nautoscaling:\n  enabled: true'
must_fail keda-without-api "no keda.sh/v1alpha1 API" $'keda:\n  enabled: true'
must_fail no-secret "existingSecret is required" $'existingSecret: ""'
must_fail short-grace "terminationGracePeriodSeconds" $'terminationGracePeriodSeconds: 60'
must_fail secret-in-config "Additional property client_secret is not allowed" $'config:\n  databricks:\n    client_secret: oops'
must_fail no-brokers "config.kafka.bootstrap_servers: String length must be greater than or equal to 1" $'config:\n  kafka:\n    bootstrap_servers: ""'
must_fail random-port "fixed port" $'config:\n  http:\n    listen: "0.0.0.0:0"'
must_fail unknown-value "Additional property replicas is not allowed" $'replicas: 3'
# The config part of the schema is the worker's own: unknown keys, values out
# of range, enums and owned librdkafka properties fail at render time.
must_fail unknown-config-key "config.flush: Additional property max_event is not allowed" $'config:\n  flush:\n    max_event: 5000'
must_fail config-out-of-range "config.flush.max_events: Must be less than or equal to" $'config:\n  flush:\n    max_events: 20000000'
must_fail config-bad-enum "config.routing.mode" $'config:\n  routing:\n    mode: sometimes'
must_fail config-owned-property "config.kafka.properties.enable.auto.commit: Must not validate" $'config:\n  kafka:\n    properties:\n      enable.auto.commit: true'
must_fail extra-volume-mount-shape "extraVolumeMounts.0: mountPath is required" $'extraVolumeMounts:\n  - name: x'

# The `config` part of values.schema.json is generated from the table.
python3 "$src/tests/helm/config_schema.py" --deltaport "$bin" --chart "$chart" || fail "values.schema.json config schema is stale"

# KEDA without its API visible: skipApiCheck renders the ScaledObject and no
# replicas; topic_regex gives one trigger without a topic.
out=$work/tls-regex-skipapicheck.yaml
grep -q '^kind: ScaledObject' "$out" || fail "skipApiCheck: no ScaledObject"
awk '/^kind: Deployment/{d=1} /^---/{d=0} d && /^  replicas:/' "$out" | grep -q . && fail "skipApiCheck: the Deployment sets replicas"
grep -q 'name: DELTAPORT_KAFKA_SSL_KEY_PASSWORD$' "$out" || fail "existingSecretKeys.kafkaSslKeyPassword is not mounted"
grep -q 'mountPath: /etc/deltaport/kafka-tls' "$out" || fail "extraVolumeMounts are not mounted"
grep -q 'configMapRef:' "$out" || fail "envFrom is not rendered"

if command -v helm >/dev/null 2>&1; then
  helm lint --strict "$chart" -f "$chart/ci/default-values.yaml" || fail "helm lint --strict"
  for v in "$chart"/ci/*-values.yaml; do
    helm template deltaport "$chart" -f "$v" >/dev/null || fail "helm template -f $v"
  done
else
  echo "check_chart: SKIP helm lint/template: no helm binary (Debian packages none); rendered with tools/helm-render instead"
fi
[ $fails -eq 0 ] && echo "check_chart: OK" && exit 0
echo "check_chart: $fails failure(s)" >&2
exit 1
