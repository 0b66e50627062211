// helm-render renders a Helm chart offline, the way `helm template` does for
// the functions and objects the deltaport chart uses: Go text/template with
// sprig's functions plus Helm's include, tpl, required, toYaml, fromYaml,
// toJson, lookup (always empty), and .Values, .Release, .Chart,
// .Capabilities, .Template, .Files. Values are the chart's values.yaml deeply
// merged with each -f file in order, then checked against values.schema.json
// (a draft-07 subset: type, properties, required, additionalProperties,
// items, enum, pattern, minimum, maximum, minLength, not, anyOf).
//
// It exists because Debian packages no helm binary; it builds offline from
// Debian's Go packages (docs/PLATFORM.md, "Go, for the Helm chart checks"):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o helm-render .
//
// Usage:
//
//	helm-render [-f values.yaml]... [--name R] [--namespace N]
//	            [--api-versions a/v1,b/v2] [--notes] CHART_DIR
//
// Manifests go to stdout as YAML documents, each preceded by a
// "# Source: <chart>/templates/<file>" comment; --notes prints NOTES.txt
// instead. Exit status 1 with the error on stderr when a template fails
// (required, fail) or the values break the schema.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"gopkg.in/yaml.v3"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// apiVersions answers .Capabilities.APIVersions.Has.
type apiVersions []string

func (a apiVersions) Has(v string) bool {
	for _, x := range a {
		if x == v {
			return true
		}
	}
	return false
}

// files answers .Files.Get with the chart directory's files.
type files struct{ dir string }

func (f files) Get(name string) string {
	b, err := os.ReadFile(filepath.Join(f.dir, filepath.FromSlash(name)))
	if err != nil {
		return ""
	}
	return string(b)
}

func readYAML(path string) (map[string]interface{}, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]interface{}{}
	if err := yaml.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if out == nil {
		out = map[string]interface{}{}
	}
	return out, nil
}

// merge copies src into dst: maps merge recursively, anything else replaces.
func merge(dst, src map[string]interface{}) {
	for k, v := range src {
		sm, sok := v.(map[string]interface{})
		dm, dok := dst[k].(map[string]interface{})
		if sok && dok {
			merge(dm, sm)
			continue
		}
		dst[k] = v
	}
}

func toYAML(v interface{}) string {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return ""
	}
	enc.Close()
	return strings.TrimSuffix(buf.String(), "\n")
}

func fromYAML(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func chartObject(dir string) (map[string]interface{}, error) {
	raw, err := readYAML(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		return nil, err
	}
	chart := map[string]interface{}{}
	for k, v := range raw {
		// Helm exposes Chart.yaml fields capitalised: name -> .Chart.Name.
		chart[strings.ToUpper(k[:1])+k[1:]] = v
	}
	return chart, nil
}

func render(dir string, values map[string]interface{}, release, namespace string,
	apis apiVersions, notes bool) (string, error) {
	chart, err := chartObject(dir)
	if err != nil {
		return "", err
	}
	name, _ := chart["Name"].(string)
	root := template.New("root").Option("missingkey=zero")
	funcs := sprig.TxtFuncMap()
	funcs["toYaml"] = toYAML
	funcs["fromYaml"] = fromYAML
	funcs["toJson"] = func(v interface{}) string {
		b, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		return string(b)
	}
	funcs["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return nil, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return nil, errors.New(msg)
		}
		return v, nil
	}
	funcs["include"] = func(name string, data interface{}) (string, error) {
		var buf bytes.Buffer
		err := root.ExecuteTemplate(&buf, name, data)
		return buf.String(), err
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		err = t.Execute(&buf, data)
		return buf.String(), err
	}
	funcs["lookup"] = func(...interface{}) map[string]interface{} { return map[string]interface{}{} }
	root.Funcs(funcs)

	tdir := filepath.Join(dir, "templates")
	entries, err := os.ReadDir(tdir)
	if err != nil {
		return "", err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(tdir, e.Name()))
		if err != nil {
			return "", err
		}
		tname := name + "/templates/" + e.Name()
		if _, err := root.New(tname).Parse(string(b)); err != nil {
			return "", err
		}
		names = append(names, tname)
	}
	sort.Strings(names)
	top := map[string]interface{}{
		"Values":  values,
		"Chart":   chart,
		"Release": map[string]interface{}{"Name": release, "Namespace": namespace, "Service": "Helm", "IsInstall": true, "IsUpgrade": false, "Revision": 1},
		"Capabilities": map[string]interface{}{
			"APIVersions": apis,
			"KubeVersion": map[string]interface{}{"Version": "v1.30.0", "Major": "1", "Minor": "30", "GitVersion": "v1.30.0"},
		},
		"Files": files{dir},
	}
	var out strings.Builder
	for _, tname := range names {
		base := filepath.Base(tname)
		isNotes := base == "NOTES.txt"
		if strings.HasPrefix(base, "_") || isNotes != notes {
			continue
		}
		top["Template"] = map[string]interface{}{"Name": tname, "BasePath": name + "/templates"}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, tname, top); err != nil {
			return "", err
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		if notes {
			out.WriteString(text)
			continue
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", tname, strings.Trim(text, "\n"))
	}
	return out.String(), nil
}

func main() {
	var valueFiles multiFlag
	flag.Var(&valueFiles, "f", "values file (repeatable)")
	release := flag.String("name", "deltaport", "release name")
	namespace := flag.String("namespace", "default", "release namespace")
	apis := flag.String("api-versions", "", "extra API versions for .Capabilities (comma separated)")
	notes := flag.Bool("notes", false, "render NOTES.txt instead of the manifests")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: helm-render [-f values.yaml]... [--name R] [--namespace N] [--api-versions a/v1,...] [--notes] CHART_DIR")
		os.Exit(2)
	}
	dir := flag.Arg(0)
	values, err := readYAML(filepath.Join(dir, "values.yaml"))
	if err == nil {
		for _, f := range valueFiles {
			var extra map[string]interface{}
			if extra, err = readYAML(f); err != nil {
				break
			}
			merge(values, extra)
		}
	}
	if err == nil {
		err = checkSchema(dir, values)
	}
	av := apiVersions{"v1", "apps/v1", "policy/v1", "autoscaling/v2"}
	for _, a := range strings.Split(*apis, ",") {
		if a != "" {
			av = append(av, a)
		}
	}
	var text string
	if err == nil {
		text, err = render(dir, values, *release, *namespace, av, *notes)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "helm-render: Error:", err)
		os.Exit(1)
	}
	fmt.Print(text)
}

// ---------------------------------------------------------------------------
// values.schema.json (a draft-07 subset)

func checkSchema(dir string, values map[string]interface{}) error {
	b, err := os.ReadFile(filepath.Join(dir, "values.schema.json"))
	if os.IsNotExist(err) {
		return nil
	} else if err != nil {
		return err
	}
	var schema map[string]interface{}
	if err := json.Unmarshal(b, &schema); err != nil {
		return fmt.Errorf("values.schema.json: %v", err)
	}
	// Compare as JSON values, as Helm does (numbers become float64).
	var v interface{}
	jb, err := json.Marshal(values)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(jb, &v); err != nil {
		return err
	}
	var problems []string
	validate(schema, v, "", &problems)
	if len(problems) > 0 {
		return fmt.Errorf("values don't meet the specifications of the schema(s):\n- %s",
			strings.Join(problems, "\n- "))
	}
	return nil
}

func typeOf(v interface{}) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		if x == float64(int64(x)) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []interface{}:
		return "array"
	case map[string]interface{}:
		return "object"
	}
	return "unknown"
}

func typeOK(want interface{}, got string) bool {
	var list []interface{}
	switch w := want.(type) {
	case string:
		list = []interface{}{w}
	case []interface{}:
		list = w
	default:
		return true
	}
	for _, t := range list {
		if t == got || (t == "number" && got == "integer") {
			return true
		}
	}
	return false
}

func validate(s map[string]interface{}, v interface{}, path string, out *[]string) {
	at := path
	if at == "" {
		at = "(root)"
	}
	bad := func(format string, args ...interface{}) {
		*out = append(*out, at+": "+fmt.Sprintf(format, args...))
	}
	if t, ok := s["type"]; ok && !typeOK(t, typeOf(v)) {
		bad("got %s, want %v", typeOf(v), t)
		return
	}
	if e, ok := s["enum"].([]interface{}); ok {
		found := false
		for _, x := range e {
			if x == v {
				found = true
			}
		}
		if !found {
			bad("%v is not one of %v", v, e)
		}
	}
	if str, ok := v.(string); ok {
		if p, ok := s["pattern"].(string); ok {
			if re, err := regexp.Compile(p); err == nil && !re.MatchString(str) {
				bad("%q does not match %s", str, p)
			}
		}
		if m, ok := s["minLength"].(float64); ok && float64(len(str)) < m {
			bad("shorter than %v", m)
		}
	}
	if n, ok := v.(float64); ok {
		if m, ok := s["minimum"].(float64); ok && n < m {
			bad("%v is less than %v", n, m)
		}
		if m, ok := s["maximum"].(float64); ok && n > m {
			bad("%v is more than %v", n, m)
		}
	}
	if not, ok := s["not"].(map[string]interface{}); ok {
		var sub []string
		validate(not, v, path, &sub)
		if len(sub) == 0 {
			bad("must not match %v", not)
		}
	}
	if any, ok := s["anyOf"].([]interface{}); ok {
		matched := false
		for _, a := range any {
			var sub []string
			if am, ok := a.(map[string]interface{}); ok {
				validate(am, v, path, &sub)
				if len(sub) == 0 {
					matched = true
				}
			}
		}
		if !matched {
			bad("matches none of anyOf")
		}
	}
	if arr, ok := v.([]interface{}); ok {
		if items, ok := s["items"].(map[string]interface{}); ok {
			for i, x := range arr {
				validate(items, x, fmt.Sprintf("%s[%d]", path, i), out)
			}
		}
	}
	obj, ok := v.(map[string]interface{})
	if !ok {
		return
	}
	props, _ := s["properties"].(map[string]interface{})
	if req, ok := s["required"].([]interface{}); ok {
		for _, r := range req {
			if _, ok := obj[r.(string)]; !ok {
				bad("%s is required", r)
			}
		}
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		sub := path + "." + k
		if path == "" {
			sub = k
		}
		if ps, ok := props[k].(map[string]interface{}); ok {
			validate(ps, obj[k], sub, out)
		} else if ap, ok := s["additionalProperties"].(bool); ok && !ap {
			bad("additional property %s is not allowed", k)
		}
	}
}
