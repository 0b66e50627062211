// helm-render renders a Helm chart offline, the way `helm template` does for
// the functions and objects the deltaport chart uses: Go text/template with
// sprig's functions plus Helm's include, tpl, required, toYaml, fromYaml,
// toJson, lookup (always empty), and .Values, .Release, .Chart,
// .Capabilities, .Template, .Files. Values are the chart's values.yaml deeply
// merged with each -f file in order, then checked against values.schema.json
// with gojsonschema (the JSON Schema library of Helm up to 3.18).
//
// It exists because Debian packages no helm binary; it builds offline from
// Debian's Go packages (docs/PLATFORM.md, "Go, for the Helm chart checks"):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o helm-render .
//
// (golang-github-masterminds-sprig-dev, golang-gopkg-yaml.v3-dev and
// golang-github-xeipuuv-gojsonschema-dev.)
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
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"github.com/xeipuuv/gojsonschema"
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

// merge copies src into dst: maps merge recursively, null deletes the key
// (as Helm does: "topics: null" removes a default), anything else replaces.
func merge(dst, src map[string]interface{}) {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
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

	// Every file under templates/, subdirectories included (tests/), as Helm.
	tdir := filepath.Join(dir, "templates")
	var names []string
	err = filepath.WalkDir(tdir, func(path string, e os.DirEntry, werr error) error {
		if werr != nil || e.IsDir() {
			return werr
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(tdir, path)
		tname := name + "/templates/" + filepath.ToSlash(rel)
		if _, err := root.New(tname).Parse(string(b)); err != nil {
			return err
		}
		names = append(names, tname)
		return nil
	})
	if err != nil {
		return "", err
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
// values.schema.json, validated with xeipuuv/gojsonschema: the validator Helm
// 3 used up to 3.18 (drafts 4, 6 and 7), so errors read as Helm's do.

func checkSchema(dir string, values map[string]interface{}) error {
	b, err := os.ReadFile(filepath.Join(dir, "values.schema.json"))
	if os.IsNotExist(err) {
		return nil
	} else if err != nil {
		return err
	}
	// Compare as JSON values, as Helm does (numbers become float64).
	jb, err := json.Marshal(values)
	if err != nil {
		return err
	}
	result, err := gojsonschema.Validate(gojsonschema.NewBytesLoader(b), gojsonschema.NewBytesLoader(jb))
	if err != nil {
		return fmt.Errorf("values.schema.json: %v", err)
	}
	if result.Valid() {
		return nil
	}
	var problems []string
	for _, e := range result.Errors() {
		problems = append(problems, e.String())
	}
	sort.Strings(problems)
	return fmt.Errorf("values don't meet the specifications of the schema(s) in the following chart(s):\n%s:\n- %s",
		filepath.Base(dir), strings.Join(problems, "\n- "))
}
