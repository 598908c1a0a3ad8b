// Package assets reads what the repository ships for Prometheus and
// Grafana (alerts/, dashboards/, examples/) and what the exporter
// documents, for the structural tests and the end-to-end suite.
package assets

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Root is the repository's root directory.
func Root() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("assets: no caller information")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

// Path joins elements onto the repository's root.
func Path(elem ...string) string {
	return filepath.Join(append([]string{Root()}, elem...)...)
}

// RuleFiles are the alert rule files under alerts/ (not their tests).
func RuleFiles() ([]string, error) {
	files, err := filepath.Glob(Path("alerts", "*.yml"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range files {
		if !strings.HasSuffix(f, ".test.yml") {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out, nil
}

// RuleTestFiles are the promtool unit test files under alerts/.
func RuleTestFiles() ([]string, error) {
	files, err := filepath.Glob(Path("alerts", "*.test.yml"))
	sort.Strings(files)
	return files, err
}

// BlackboxRuleFiles are the copies of community blackbox_exporter rules
// under alerts/blackbox/, as published and scoped away from this
// exporter's job: they show the metric-name collision and its fix.
func BlackboxRuleFiles() ([]string, error) {
	files, err := filepath.Glob(Path("alerts", "blackbox", "*.rules.yml"))
	sort.Strings(files)
	return files, err
}

// BlackboxRuleTestFiles are the promtool unit tests of BlackboxRuleFiles.
func BlackboxRuleTestFiles() ([]string, error) {
	files, err := filepath.Glob(Path("alerts", "blackbox", "*.test.yml"))
	sort.Strings(files)
	return files, err
}

// LoadRuleFile parses one rule file, strictly.
func LoadRuleFile(path string) (*RuleFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	rf := &RuleFile{Path: path}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(rf); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rf, nil
}

// RuleFile is a Prometheus rule file.
type RuleFile struct {
	Path   string      `yaml:"-"`
	Groups []RuleGroup `yaml:"groups"`
}

// RuleGroup is a group of rules.
type RuleGroup struct {
	Name     string `yaml:"name"`
	Interval string `yaml:"interval"`
	Rules    []Rule `yaml:"rules"`
}

// Rule is an alerting or recording rule.
type Rule struct {
	Alert       string            `yaml:"alert"`
	Record      string            `yaml:"record"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// LoadRules parses every rule file under alerts/, strictly.
func LoadRules() ([]*RuleFile, error) {
	files, err := RuleFiles()
	if err != nil {
		return nil, err
	}
	var out []*RuleFile
	for _, f := range files {
		rf, err := LoadRuleFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, rf)
	}
	return out, nil
}

// Alerts returns every alerting rule of the files, in file order.
func Alerts(files []*RuleFile) []Rule {
	var out []Rule
	for _, f := range files {
		for _, g := range f.Groups {
			for _, r := range g.Rules {
				if r.Alert != "" {
					out = append(out, r)
				}
			}
		}
	}
	return out
}

// Dashboard is the part of Grafana's classic dashboard JSON model the
// tests look at.
type Dashboard struct {
	Path          string                    `json:"-"`
	UID           string                    `json:"uid"`
	ID            any                       `json:"id"`
	Title         string                    `json:"title"`
	Description   string                    `json:"description"`
	Tags          []string                  `json:"tags"`
	SchemaVersion int                       `json:"schemaVersion"`
	Templating    struct{ List []Variable } `json:"templating"`
	Panels        []Panel                   `json:"panels"`
	Inputs        json.RawMessage           `json:"__inputs"`
}

// Variable is a template variable.
type Variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Datasource json.RawMessage `json:"datasource"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
	AllValue   string          `json:"allValue"`
	Regex      string          `json:"regex"`
}

// QueryString returns the variable's query: a string, or the "query"
// field of an object (newer Grafana versions store either).
func (v Variable) QueryString() string {
	var s string
	if json.Unmarshal(v.Query, &s) == nil {
		return s
	}
	var obj struct {
		Query string `json:"query"`
	}
	if json.Unmarshal(v.Query, &obj) == nil {
		return obj.Query
	}
	return ""
}

// Panel is a panel (or a row, which may hold collapsed panels).
type Panel struct {
	ID          int             `json:"id"`
	Type        string          `json:"type"`
	Title       string          `json:"title"`
	Description string          `json:"description"`
	Datasource  json.RawMessage `json:"datasource"`
	Targets     []Target        `json:"targets"`
	FieldConfig struct {
		Defaults struct {
			Unit       string `json:"unit"`
			Thresholds struct {
				Mode  string `json:"mode"`
				Steps []struct {
					Color string   `json:"color"`
					Value *float64 `json:"value"`
				} `json:"steps"`
			} `json:"thresholds"`
		} `json:"defaults"`
		Overrides []struct {
			Properties []struct {
				ID    string `json:"id"`
				Value any    `json:"value"`
			} `json:"properties"`
		} `json:"overrides"`
	} `json:"fieldConfig"`
	Panels  []Panel `json:"panels"`
	GridPos struct {
		H, W, X, Y int
	} `json:"gridPos"`
}

// Target is a panel's query.
type Target struct {
	RefID        string          `json:"refId"`
	Expr         string          `json:"expr"`
	LegendFormat string          `json:"legendFormat"`
	Instant      bool            `json:"instant"`
	Range        bool            `json:"range"`
	Format       string          `json:"format"`
	Datasource   json.RawMessage `json:"datasource"`
}

// Units are the panel's units: the default and any set by overrides.
func (p Panel) Units() []string {
	var out []string
	if p.FieldConfig.Defaults.Unit != "" {
		out = append(out, p.FieldConfig.Defaults.Unit)
	}
	for _, o := range p.FieldConfig.Overrides {
		for _, prop := range o.Properties {
			if prop.ID == "unit" {
				if s, ok := prop.Value.(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// DashboardFiles are the dashboards under dashboards/.
func DashboardFiles() ([]string, error) {
	files, err := filepath.Glob(Path("dashboards", "*.json"))
	sort.Strings(files)
	return files, err
}

// LoadDashboards parses every dashboard under dashboards/.
func LoadDashboards() ([]*Dashboard, error) {
	files, err := DashboardFiles()
	if err != nil {
		return nil, err
	}
	var out []*Dashboard
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		d := &Dashboard{Path: f}
		if err := json.Unmarshal(data, d); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// AllPanels returns the dashboard's panels with the panels of collapsed
// rows, rows included.
func (d *Dashboard) AllPanels() []Panel {
	var out []Panel
	var walk func([]Panel)
	walk = func(ps []Panel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// Variable returns the dashboard's template variable of that name.
func (d *Dashboard) Variable(name string) (Variable, bool) {
	for _, v := range d.Templating.List {
		if v.Name == name {
			return v, true
		}
	}
	return Variable{}, false
}

var templateVarRE = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)(?::[a-z]+)?\}|\[\[([A-Za-z0-9_]+)\]\]|\$([A-Za-z0-9_]+)`)

// Expand replaces Grafana template variables ($name, ${name},
// ${name:format}, [[name]]) with values; an unknown variable is an error,
// so a typo in a panel does not pass as a literal.
func Expand(expr string, vars map[string]string) (string, error) {
	var missing []string
	out := templateVarRE.ReplaceAllStringFunc(expr, func(m string) string {
		sub := templateVarRE.FindStringSubmatch(m)
		name := sub[1] + sub[2] + sub[3]
		v, ok := vars[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		return v
	})
	if len(missing) > 0 {
		return out, fmt.Errorf("unknown template variables %v", missing)
	}
	return out, nil
}

// labelValuesRE matches Grafana's label_values(metric, label) and
// label_values(label) variable queries.
var labelValuesRE = regexp.MustCompile(`^\s*label_values\(\s*(?:(.+?)\s*,\s*)?([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$`)

// LabelValuesQuery splits a label_values() variable query into its series
// selector (possibly empty) and label.
func LabelValuesQuery(q string) (selector, label string, ok bool) {
	m := labelValuesRE.FindStringSubmatch(q)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}
