// chartcheck checks manifests rendered from helm/deltaport (by helm-render or
// helm template): kinds, names and labels, selectors against pod labels,
// probes on the real endpoints and on the port of the rendered config's
// http.listen, the restricted security context, the grace period against
// worker.shutdown_timeout_ms, credentials only from Secrets, the config
// checksum, and that every metric the dashboard queries is one the worker
// exposes. It writes the rendered config.json to -config-out so the caller can
// run `deltaport config check` on it.
//
//	chartcheck -manifests out.yaml -expect ConfigMap,Deployment -forbid ScaledObject
//	           -config-out config.json -metrics-src src/ops/metrics.c -run-as 10001
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

type doc = map[string]interface{}

var problems []string

func bad(format string, args ...interface{}) {
	problems = append(problems, fmt.Sprintf(format, args...))
}

// get walks a path of map keys and list indexes ("spec", "template", 0 ...).
func get(v interface{}, path ...interface{}) interface{} {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]interface{})
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]interface{})
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func str(v interface{}) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func list(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func subset(sel, labels interface{}) bool {
	sm, _ := sel.(map[string]interface{})
	lm, _ := labels.(map[string]interface{})
	if len(sm) == 0 {
		return false
	}
	for k, v := range sm {
		if str(lm[k]) != str(v) {
			return false
		}
	}
	return true
}

func main() {
	manifests := flag.String("manifests", "", "rendered manifests (YAML documents)")
	expect := flag.String("expect", "", "kinds that must be present")
	forbid := flag.String("forbid", "", "kinds that must be absent")
	configOut := flag.String("config-out", "", "where to write the rendered config.json")
	metricsSrc := flag.String("metrics-src", "", "src/ops/metrics.c (metric names the worker exposes)")
	runAs := flag.Int("run-as", 10001, "uid and gid of the image's USER")
	flag.Parse()

	b, err := os.ReadFile(*manifests)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chartcheck:", err)
		os.Exit(2)
	}
	var docs []doc
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var d doc
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "chartcheck: manifests do not parse:", err)
			os.Exit(1)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
	kinds := map[string][]doc{}
	names := map[string]bool{}
	for _, d := range docs {
		kind, name := str(d["kind"]), str(get(d, "metadata", "name"))
		if str(d["apiVersion"]) == "" || kind == "" || name == "" {
			bad("a document lacks apiVersion, kind or metadata.name: %v", d)
			continue
		}
		if !regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`).MatchString(name) {
			bad("%s %q: not a DNS-1123 name", kind, name)
		}
		if names[kind+"/"+name] {
			bad("%s %q rendered twice", kind, name)
		}
		names[kind+"/"+name] = true
		if get(d, "metadata", "namespace") != nil {
			bad("%s %q sets metadata.namespace (the release namespace applies)", kind, name)
		}
		for _, l := range []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", "helm.sh/chart"} {
			if str(get(d, "metadata", "labels", l)) == "" {
				bad("%s %q lacks label %s", kind, name, l)
			}
		}
		kinds[kind] = append(kinds[kind], d)
	}
	for _, k := range list(*expect) {
		if len(kinds[k]) == 0 {
			bad("expected a %s", k)
		}
	}
	for _, k := range list(*forbid) {
		if len(kinds[k]) > 0 {
			bad("expected no %s", k)
		}
	}
	if len(kinds["HorizontalPodAutoscaler"]) > 0 && len(kinds["ScaledObject"]) > 0 {
		bad("an HPA and a KEDA ScaledObject target the same Deployment")
	}
	cfg := checkConfig(kinds["ConfigMap"], *configOut)
	for _, d := range kinds["Deployment"] {
		checkDeployment(d, cfg, *runAs, kinds)
	}
	for _, d := range kinds["ScaledObject"] {
		checkScaledObject(d, cfg)
	}
	for _, d := range kinds["Pod"] {
		checkTestPod(d, kinds["Deployment"])
	}
	if *metricsSrc != "" {
		exposed := exposedMetrics(*metricsSrc)
		checkDashboard(kinds["ConfigMap"], exposed)
		for _, d := range kinds["PrometheusRule"] {
			checkPrometheusRule(d, exposed)
		}
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, "chartcheck: FAIL:", p)
		}
		os.Exit(1)
	}
	fmt.Printf("chartcheck: %d documents OK (%d kinds)\n", len(docs), len(kinds))
}

// checkConfig finds the worker's config.json, writes it out and returns it.
func checkConfig(cms []doc, out string) map[string]interface{} {
	for _, cm := range cms {
		text := str(get(cm, "data", "config.json"))
		if text == "" {
			continue
		}
		var cfg map[string]interface{}
		if err := json.Unmarshal([]byte(text), &cfg); err != nil {
			bad("config.json is not JSON: %v", err)
			return nil
		}
		if out != "" {
			if err := os.WriteFile(out, []byte(text), 0o644); err != nil {
				bad("writing %s: %v", out, err)
			}
		}
		return cfg
	}
	bad("no ConfigMap holds config.json")
	return nil
}

func listenPort(cfg map[string]interface{}) int {
	listen := str(get(cfg, "http", "listen"))
	i := strings.LastIndex(listen, ":")
	if i < 0 {
		return -1
	}
	p, err := strconv.Atoi(listen[i+1:])
	if err != nil {
		return -1
	}
	return p
}

func checkDeployment(d doc, cfg map[string]interface{}, runAs int, kinds map[string][]doc) {
	name := str(get(d, "metadata", "name"))
	pod := get(d, "spec", "template")
	podLabels := get(pod, "metadata", "labels")
	sel := get(d, "spec", "selector", "matchLabels")
	if !subset(sel, podLabels) {
		bad("Deployment %s: selector %v does not select its pod labels", name, sel)
	}
	for _, k := range []string{"PodDisruptionBudget", "Service", "ServiceMonitor"} {
		for _, o := range kinds[k] {
			s := get(o, "spec", "selector", "matchLabels")
			if k == "Service" {
				s = get(o, "spec", "selector")
			}
			if !subset(s, podLabels) {
				bad("%s %s: selector %v does not select the worker pods", k, str(get(o, "metadata", "name")), s)
			}
		}
	}
	if len(kinds["HorizontalPodAutoscaler"]) > 0 || len(kinds["ScaledObject"]) > 0 {
		if get(d, "spec", "replicas") != nil {
			bad("Deployment %s sets replicas although an autoscaler owns them", name)
		}
	}
	if c := get(pod, "metadata", "annotations", "checksum/config"); !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(str(c)) {
		bad("Deployment %s: checksum/config annotation missing or not sha256: %v", name, c)
	}
	spec := get(pod, "spec")
	psc := get(spec, "securityContext")
	if get(psc, "runAsNonRoot") != true || str(get(psc, "runAsUser")) != strconv.Itoa(runAs) ||
		str(get(psc, "runAsGroup")) != strconv.Itoa(runAs) {
		bad("Deployment %s: pod securityContext must run as non-root %d:%d, got %v", name, runAs, runAs, psc)
	}
	grace, _ := strconv.Atoi(str(get(spec, "terminationGracePeriodSeconds")))
	shutdownMS, _ := strconv.Atoi(str(get(cfg, "worker", "shutdown_timeout_ms")))
	if shutdownMS == 0 {
		shutdownMS = 170000
	}
	if grace*1000 < shutdownMS+10000 {
		bad("Deployment %s: terminationGracePeriodSeconds %d is not 10 s above worker.shutdown_timeout_ms %d", name, grace, shutdownMS)
	}
	containers, _ := get(spec, "containers").([]interface{})
	if len(containers) != 1 {
		bad("Deployment %s: expected one container, got %d", name, len(containers))
		return
	}
	c := containers[0]
	port := listenPort(cfg)
	named := map[string]int{}
	for _, p := range get(c, "ports").([]interface{}) {
		n, _ := strconv.Atoi(str(get(p, "containerPort")))
		named[str(get(p, "name"))] = n
	}
	if port <= 0 || named["http"] != port {
		bad("Deployment %s: container port http = %d, config http.listen port = %d", name, named["http"], port)
	}
	for probe, path := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz", "startupProbe": "/healthz"} {
		p := get(c, probe, "httpGet")
		if p == nil {
			bad("Deployment %s: no %s httpGet", name, probe)
			continue
		}
		pp := str(get(p, "port"))
		if n, err := strconv.Atoi(pp); err == nil {
			if n != port {
				bad("Deployment %s: %s port %d is not the config's %d", name, probe, n, port)
			}
		} else if named[pp] != port {
			bad("Deployment %s: %s port %q is not the config's %d", name, probe, pp, port)
		}
		if str(get(p, "path")) != path {
			bad("Deployment %s: %s path %v, want %s", name, probe, get(p, "path"), path)
		}
	}
	sc := get(c, "securityContext")
	if get(sc, "readOnlyRootFilesystem") != true || get(sc, "allowPrivilegeEscalation") != false ||
		get(sc, "runAsNonRoot") != true || !strings.Contains(str(get(sc, "capabilities", "drop")), "ALL") {
		bad("Deployment %s: container securityContext must be non-root, read-only, no escalation, drop ALL: %v", name, sc)
	}
	if get(c, "resources", "limits", "memory") == nil || get(c, "resources", "requests", "cpu") == nil {
		bad("Deployment %s: resources need requests.cpu and limits.memory", name)
	}
	args := str(get(c, "args"))
	if args != "[run --config /etc/deltaport/config.json]" {
		bad("Deployment %s: args %s, want run --config /etc/deltaport/config.json", name, args)
	}
	env := map[string]interface{}{}
	for _, e := range get(c, "env").([]interface{}) {
		env[str(get(e, "name"))] = e
		if v := get(e, "value"); v != nil && strings.Contains(strings.ToUpper(str(get(e, "name"))), "SECRET") {
			bad("Deployment %s: %s carries a literal value", name, get(e, "name"))
		}
	}
	if str(get(env["DELTAPORT_WORKER_ID"], "valueFrom", "fieldRef", "fieldPath")) != "metadata.name" {
		bad("Deployment %s: DELTAPORT_WORKER_ID must come from the pod name", name)
	}
	auth := str(get(cfg, "databricks", "auth"))
	want := "DELTAPORT_DATABRICKS_CLIENT_SECRET"
	if auth == "pat" {
		want = "DELTAPORT_DATABRICKS_TOKEN"
	}
	if get(env[want], "valueFrom", "secretKeyRef", "name") == nil {
		bad("Deployment %s: %s must come from a secretKeyRef (auth %q)", name, want, auth)
	}
	mounted := false
	for _, m := range get(c, "volumeMounts").([]interface{}) {
		if str(get(m, "mountPath")) == "/tmp" {
			mounted = true
		}
	}
	if !mounted {
		bad("Deployment %s: a writable /tmp is needed with a read-only root", name)
	}
	checkMountsHaveVolumes("Deployment "+name, c, spec)
	checkSecretEnv("Deployment "+name, c)
}

// checkMountsHaveVolumes: every volumeMount names a volume of the pod.
func checkMountsHaveVolumes(what string, c, spec interface{}) {
	vols := map[string]bool{}
	for _, v := range asList(get(spec, "volumes")) {
		vols[str(get(v, "name"))] = true
	}
	for _, m := range asList(get(c, "volumeMounts")) {
		if !vols[str(get(m, "name"))] {
			bad("%s: volumeMount %s has no volume", what, get(m, "name"))
		}
	}
}

// checkSecretEnv: a credential comes from a secretKeyRef with a name and a key.
func checkSecretEnv(what string, c interface{}) {
	for _, e := range asList(get(c, "env")) {
		ref := get(e, "valueFrom", "secretKeyRef")
		if ref != nil && (str(get(ref, "name")) == "" || str(get(ref, "key")) == "") {
			bad("%s: %s: secretKeyRef without name or key", what, get(e, "name"))
		}
	}
}

func asList(v interface{}) []interface{} {
	l, _ := v.([]interface{})
	return l
}

func envNames(c interface{}) []string {
	var out []string
	for _, e := range asList(get(c, "env")) {
		out = append(out, str(get(e, "name")))
	}
	return out
}

func mountPaths(c interface{}) []string {
	var out []string
	for _, m := range asList(get(c, "volumeMounts")) {
		out = append(out, str(get(m, "mountPath")))
	}
	return out
}

// checkTestPod: the `helm test` Pod runs deltaport check with the workers'
// environment and mounts, and is not selected as a worker.
func checkTestPod(p doc, deps []doc) {
	name := str(get(p, "metadata", "name"))
	if str(get(p, "metadata", "annotations", "helm.sh/hook")) != "test" {
		bad("Pod %s is not a helm test hook", name)
		return
	}
	c := get(p, "spec", "containers", 0)
	if args := str(get(c, "args")); args != "[check --config /etc/deltaport/config.json]" {
		bad("test Pod %s: args %s, want check --config /etc/deltaport/config.json", name, args)
	}
	if str(get(p, "spec", "restartPolicy")) != "Never" {
		bad("test Pod %s: restartPolicy must be Never", name)
	}
	for _, d := range deps {
		dc := get(d, "spec", "template", "spec", "containers", 0)
		if fmt.Sprint(envNames(dc)) != fmt.Sprint(envNames(c)) {
			bad("test Pod %s: env %v differs from the workers' %v", name, envNames(c), envNames(dc))
		}
		if fmt.Sprint(mountPaths(dc)) != fmt.Sprint(mountPaths(c)) {
			bad("test Pod %s: mounts %v differ from the workers' %v", name, mountPaths(c), mountPaths(dc))
		}
		if subset(get(d, "spec", "selector", "matchLabels"), get(p, "metadata", "labels")) {
			bad("test Pod %s carries the workers' selector labels (the Service and PDB would select it)", name)
		}
	}
	checkMountsHaveVolumes("test Pod "+name, c, get(p, "spec"))
	checkSecretEnv("test Pod "+name, c)
}

// checkPrometheusRule: the alerts the runbook names exist, and every metric
// they query is one the worker exposes.
func checkPrometheusRule(d doc, exposed map[string]bool) {
	alerts := map[string]bool{}
	n := 0
	for _, g := range asList(get(d, "spec", "groups")) {
		for _, r := range asList(get(g, "rules")) {
			alerts[str(get(r, "alert"))] = true
			expr := str(get(r, "expr"))
			if expr == "" {
				bad("PrometheusRule: rule %v has no expr", get(r, "alert"))
			}
			for _, m := range regexp.MustCompile(`\b((?:deltaport|process)_[a-z_]+)`).FindAllString(expr, -1) {
				if !exposed[m] {
					bad("PrometheusRule: %v queries %s, which the worker does not expose", get(r, "alert"), m)
				}
				n++
			}
		}
	}
	for _, a := range []string{"DeltaportLagGrowing", "DeltaportLoadsFailing", "DeltaportPartitionStopped",
		"DeltaportRecordsLostToRetention"} {
		if !alerts[a] {
			bad("PrometheusRule: no alert %s", a)
		}
	}
	fmt.Printf("chartcheck: PrometheusRule: %d alerts, %d metric references, all exposed\n", len(alerts), n)
}

func checkScaledObject(d doc, cfg map[string]interface{}) {
	triggers := asList(get(d, "spec", "triggers"))
	topics := asList(get(cfg, "kafka", "topics"))
	regex := str(get(cfg, "kafka", "topic_regex"))
	if len(triggers) == 0 {
		bad("ScaledObject has no triggers: it would scale nothing")
	}
	if regex == "" && len(triggers) != len(topics) {
		bad("ScaledObject: %d triggers for %d topics", len(triggers), len(topics))
	}
	for _, t := range triggers {
		if regex != "" && get(t, "metadata", "topic") != nil {
			bad("ScaledObject: with topic_regex a trigger names topic %v (KEDA would see only it)", get(t, "metadata", "topic"))
		}
	}
	for _, t := range triggers {
		md := get(t, "metadata")
		if str(get(t, "type")) != "kafka" {
			bad("ScaledObject trigger type %v, want kafka", get(t, "type"))
		}
		if str(get(md, "consumerGroup")) != str(get(cfg, "kafka", "group_id")) {
			bad("ScaledObject consumerGroup %v is not kafka.group_id %v", get(md, "consumerGroup"), get(cfg, "kafka", "group_id"))
		}
		if str(get(md, "excludePersistentLag")) == "true" {
			bad("ScaledObject: excludePersistentLag ignores the lag deltaport holds between flushes")
		}
		for k, v := range md.(map[string]interface{}) {
			if _, ok := v.(string); !ok {
				bad("ScaledObject metadata %s must be a string, got %T", k, v)
			}
		}
	}
	if len(str(get(d, "metadata", "name"))) > 54 {
		bad("ScaledObject name longer than 54")
	}
}

// exposedMetrics: the metric names the worker exposes (named in src/ops/metrics.c),
// with the _bucket, _count and _sum series of its histograms.
func exposedMetrics(metricsSrc string) map[string]bool {
	exposed := map[string]bool{}
	src, err := os.ReadFile(metricsSrc)
	if err != nil {
		bad("reading %s: %v", metricsSrc, err)
		return exposed
	}
	for _, m := range regexp.MustCompile(`"((?:deltaport|process)_[a-z_]+)`).FindAllSubmatch(src, -1) {
		exposed[string(m[1])] = true
		if strings.HasSuffix(string(m[1]), "_seconds") {
			for _, sfx := range []string{"_bucket", "_count", "_sum"} {
				exposed[string(m[1])+sfx] = true
			}
		}
	}
	return exposed
}

// checkDashboard: every deltaport_/process_ metric the dashboard queries is
// exposed by the worker.
func checkDashboard(cms []doc, exposed map[string]bool) {
	for _, cm := range cms {
		text := str(get(cm, "data", "deltaport.json"))
		if text == "" {
			continue
		}
		var dash map[string]interface{}
		if err := json.Unmarshal([]byte(text), &dash); err != nil {
			bad("dashboard JSON: %v", err)
			return
		}
		if str(dash["uid"]) == "" || str(dash["title"]) == "" || dash["schemaVersion"] == nil {
			bad("dashboard lacks uid, title or schemaVersion")
		}
		ids := map[string]bool{}
		n := 0
		for _, p := range dash["panels"].([]interface{}) {
			id := str(get(p, "id"))
			if ids[id] {
				bad("dashboard panel id %s repeats", id)
			}
			ids[id] = true
			targets, _ := get(p, "targets").([]interface{})
			for _, t := range targets {
				expr := str(get(t, "expr"))
				for _, m := range regexp.MustCompile(`\b((?:deltaport|process)_[a-z_]+)`).FindAllString(expr, -1) {
					base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_count"), "_sum")
					if !exposed[m] && !exposed[base] {
						bad("dashboard queries %s, which the worker does not expose", m)
					}
					n++
				}
			}
		}
		fmt.Printf("chartcheck: dashboard: %d panels, %d metric references, all exposed\n", len(ids), n)
	}
}
