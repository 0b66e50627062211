#!/usr/bin/env bash
# The chart checks (issue 6): render helm/deltaport with the default and the
# ci/ values, check the manifests (tests/helm/chartcheck), run the real
# `deltaport config check` on each rendered config.json, and check that
# invalid values fail with a clear error. Where a helm binary exists, `helm
# lint --strict` and `helm template` run as well.
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
  "default|ci/default-values.yaml||ConfigMap,Deployment,Service,ServiceAccount,PodDisruptionBudget|HorizontalPodAutoscaler,ScaledObject,ServiceMonitor"
  "production|ci/production-values.yaml|keda.sh/v1alpha1,monitoring.coreos.com/v1|ConfigMap,Deployment,Service,ServiceAccount,PodDisruptionBudget,ScaledObject,ServiceMonitor|HorizontalPodAutoscaler"
  "production-no-crds|ci/production-values.yaml||ConfigMap,Deployment|ScaledObject,ServiceMonitor"
  "hpa-pat|ci/hpa-pat-values.yaml||Deployment,HorizontalPodAutoscaler|ScaledObject"
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
    -config-out "$work/$name.json" -metrics-src "$src/src/metrics.c" -run-as 10001 ||
    { fail "$name: manifest checks"; continue; }
  # The image ships the schemas under /usr/local/share; here they are in the tree.
  sed "s|/usr/local/share/deltaport/schemas|$src/schemas|" "$work/$name.json" >"$work/$name.local.json"
  if ! msg=$(DELTAPORT_DATABRICKS_CLIENT_SECRET=chart-check-secret DELTAPORT_DATABRICKS_TOKEN=chart-check-token \
             DELTAPORT_KAFKA_SASL_PASSWORD=chart-check-password \
             "$bin" config check --config "$work/$name.local.json" 2>&1); then
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
    echo "check_chart: $name refused: $(tail -1 "$work/$name.err")"
  fi
}
must_fail keda-and-hpa "exclusive" $'keda:\n  enabled: true\nautoscaling:\n  enabled: true'
must_fail no-secret "existingSecret is required" $'existingSecret: ""'
must_fail short-grace "terminationGracePeriodSeconds" $'terminationGracePeriodSeconds: 60'
must_fail secret-in-config "must not match" $'config:\n  databricks:\n    client_secret: oops'
must_fail no-brokers "bootstrap_servers is required" $'config:\n  kafka:\n    bootstrap_servers: ""'
must_fail random-port "fixed port" $'config:\n  http:\n    listen: "0.0.0.0:0"'
must_fail unknown-value "additional property" $'replicas: 3'

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
