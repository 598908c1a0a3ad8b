package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/deliverability-exporter/deliverability_exporter/config"
	"github.com/deliverability-exporter/deliverability_exporter/internal/e2e/assets"
)

// TestPromtoolCheckRules runs `promtool check rules` on the alert rules.
func TestPromtoolCheckRules(t *testing.T) {
	requireCommands(t, "promtool")
	files, err := assets.RuleFiles()
	if err != nil || len(files) == 0 {
		t.Fatalf("no rule files (%v)", err)
	}
	blackbox, err := assets.BlackboxRuleFiles()
	if err != nil || len(blackbox) == 0 {
		t.Fatalf("no blackbox rule files (%v)", err)
	}
	files = append(files, blackbox...)
	out := run(t, repoPath(), nil, append([]string{"promtool", "check", "rules"}, files...)...)
	t.Log(out)
}

// TestPromtoolTestRules runs the alert rules' unit tests.
func TestPromtoolTestRules(t *testing.T) {
	requireCommands(t, "promtool")
	files, err := assets.RuleTestFiles()
	if err != nil || len(files) == 0 {
		t.Fatalf("no rule test files (%v)", err)
	}
	// And the community blackbox_exporter rules beside this exporter, as
	// published and as the README scopes them.
	blackbox, err := assets.BlackboxRuleTestFiles()
	if err != nil || len(blackbox) == 0 {
		t.Fatalf("no blackbox rule test files (%v)", err)
	}
	files = append(files, blackbox...)
	for _, f := range files {
		// promtool resolves rule_files relative to the test file's directory.
		out := run(t, filepath.Dir(f), nil, "promtool", "test", "rules", filepath.Base(f))
		if !strings.Contains(out, "SUCCESS") {
			t.Errorf("%s:\n%s", f, out)
		}
	}
}

// TestPromtoolCheckExampleConfig checks examples/prometheus.yml as it is,
// with its targets file and rule file in place.
func TestPromtoolCheckExampleConfig(t *testing.T) {
	requireCommands(t, "promtool")
	out := run(t, repoPath("examples"), nil, "promtool", "check", "config", "prometheus.yml")
	if !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool check config:\n%s", out)
	}
}

// TestExampleTargets checks that examples/targets.json is a file_sd file
// whose per-target parameters are the ones the example's relabeling reads.
func TestExampleTargets(t *testing.T) {
	data, err := os.ReadFile(repoPath("examples", "targets.json"))
	if err != nil {
		t.Fatal(err)
	}
	var groups []struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&groups); err != nil {
		t.Fatalf("targets.json: %v", err)
	}
	cfg, err := os.ReadFile(repoPath("examples", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	params := 0
	for _, g := range groups {
		if len(g.Targets) == 0 {
			t.Error("a target group without targets")
		}
		for k := range g.Labels {
			if strings.HasPrefix(k, "__") {
				params++
				if !strings.Contains(string(cfg), "source_labels: ["+k+"]") {
					t.Errorf("targets.json sets %s, which examples/prometheus.yml does not relabel", k)
				}
			}
		}
	}
	if params == 0 {
		t.Error("targets.json shows no per-target parameter")
	}
}

// TestExampleScrapeConfig checks examples/prometheus.yml against the
// README: the README's relabeling, in order, then the example's own.
func TestExampleScrapeConfig(t *testing.T) {
	type relabel struct {
		SourceLabels []string `yaml:"source_labels"`
		Regex        string   `yaml:"regex"`
		TargetLabel  string   `yaml:"target_label"`
		Replacement  string   `yaml:"replacement"`
	}
	type scrapeConfig struct {
		JobName        string              `yaml:"job_name"`
		MetricsPath    string              `yaml:"metrics_path"`
		Params         map[string][]string `yaml:"params"`
		RelabelConfigs []relabel           `yaml:"relabel_configs"`
	}
	type promConfig struct {
		ScrapeConfigs []scrapeConfig `yaml:"scrape_configs"`
	}
	parse := func(data string) promConfig {
		var c promConfig
		if err := yaml.Unmarshal([]byte(data), &c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	readme, err := os.ReadFile(repoPath("README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## Prometheus configuration.*?```yaml\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README has no scrape config under \"## Prometheus configuration\"")
	}
	want := parse(string(m[1]))
	example, err := os.ReadFile(repoPath("examples", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	got := parse(string(example))
	jobs := map[string]scrapeConfig{}
	for _, sc := range got.ScrapeConfigs {
		jobs[sc.JobName] = sc
	}
	for _, w := range want.ScrapeConfigs {
		g, ok := jobs[w.JobName]
		if !ok {
			t.Errorf("examples/prometheus.yml has no job %q of the README", w.JobName)
			continue
		}
		if g.MetricsPath != w.MetricsPath || strings.Join(g.Params["module"], ",") != strings.Join(w.Params["module"], ",") {
			t.Errorf("job %s: metrics_path %q params %v, README %q %v", w.JobName, g.MetricsPath, g.Params, w.MetricsPath, w.Params)
		}
		// The README's rules keep their order among the example's.
		i := 0
		for _, r := range g.RelabelConfigs {
			if i < len(w.RelabelConfigs) && equalRelabel(r, w.RelabelConfigs[i]) {
				i++
			}
		}
		if i < len(w.RelabelConfigs) {
			t.Errorf("job %s: the README's relabel rule %+v is missing from examples/prometheus.yml, or out of order", w.JobName, w.RelabelConfigs[i])
		}
	}
	if _, ok := jobs["mail"]; !ok {
		t.Error(`examples/prometheus.yml has no job "mail", which the alert rules select`)
	}
}

func equalRelabel[R any](a, b R) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// TestExampleProbeResource checks examples/probe.yaml: a Prometheus
// Operator Probe with the job name the rules select, the exporter as
// prober, and per-target parameters set by relabeling.
func TestExampleProbeResource(t *testing.T) {
	data, err := os.ReadFile(repoPath("examples", "probe.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   struct {
			Name      string            `yaml:"name"`
			Namespace string            `yaml:"namespace"`
			Labels    map[string]string `yaml:"labels"`
		} `yaml:"metadata"`
		Spec struct {
			JobName       string `yaml:"jobName"`
			Module        string `yaml:"module"`
			Interval      string `yaml:"interval"`
			ScrapeTimeout string `yaml:"scrapeTimeout"`
			Prober        struct {
				URL  string `yaml:"url"`
				Path string `yaml:"path"`
			} `yaml:"prober"`
			Targets struct {
				StaticConfig struct {
					Static            []string          `yaml:"static"`
					Labels            map[string]string `yaml:"labels"`
					RelabelingConfigs []struct {
						SourceLabels []string `yaml:"sourceLabels"`
						Regex        string   `yaml:"regex"`
						TargetLabel  string   `yaml:"targetLabel"`
						Replacement  string   `yaml:"replacement"`
					} `yaml:"relabelingConfigs"`
				} `yaml:"staticConfig"`
			} `yaml:"targets"`
		} `yaml:"spec"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("probe.yaml: %v", err)
	}
	s := p.Spec
	switch {
	case p.APIVersion != "monitoring.coreos.com/v1" || p.Kind != "Probe":
		t.Errorf("%s %s, want monitoring.coreos.com/v1 Probe", p.APIVersion, p.Kind)
	case p.Metadata.Name == "":
		t.Error("no metadata.name")
	case s.JobName != "mail":
		t.Errorf(`jobName %q: the alert rules select job="mail"`, s.JobName)
	case s.Module != "mail" || s.Prober.Path != "/probe" || !strings.HasSuffix(s.Prober.URL, ":10075"):
		t.Errorf("module %q prober %+v, want module mail, path /probe, the exporter's port 10075", s.Module, s.Prober)
	case s.Interval == "" || s.ScrapeTimeout == "":
		t.Error("interval and scrapeTimeout belong in the example (the scrape timeout bounds the probe)")
	case len(s.Targets.StaticConfig.Static) == 0:
		t.Error("no targets")
	}
	params := map[string]bool{}
	for _, r := range s.Targets.StaticConfig.RelabelingConfigs {
		if strings.HasPrefix(r.TargetLabel, "__param_") && r.Replacement != "" && len(r.SourceLabels) > 0 {
			params[strings.TrimPrefix(r.TargetLabel, "__param_")] = true
		}
	}
	if !params["dkim_selector"] {
		t.Error("probe.yaml does not show a per-target dkim_selector")
	}
}

// TestPromtoolCheckFleetConfig checks examples/fleet/prometheus.yml as it
// is, with its rule file in place.
func TestPromtoolCheckFleetConfig(t *testing.T) {
	requireCommands(t, "promtool")
	out := run(t, repoPath("examples", "fleet"), nil, "promtool", "check", "config", "prometheus.yml")
	if !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool check config:\n%s", out)
	}
}

// TestFleetExamplesAgree: the replicas' config of examples/fleet loads
// with its targets file, the Prometheus Operator's copy of it too, and
// the operator's ScrapeConfig shards exactly as prometheus.yml does.
func TestFleetExamplesAgree(t *testing.T) {
	cfg, err := config.Load(repoPath("examples", "fleet", "exporter.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Targets) == 0 {
		t.Error("examples/fleet/exporter.yml serves no targets")
	}

	data, err := os.ReadFile(repoPath("examples", "fleet", "scrapeconfig.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var configMap struct {
		Data map[string]string `yaml:"data"`
	}
	var scrape struct {
		Spec struct {
			JobName     string           `yaml:"jobName"`
			Relabelings []map[string]any `yaml:"relabelings"`
		} `yaml:"spec"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			break
		}
		text, _ := yaml.Marshal(doc)
		switch doc["kind"] {
		case "ConfigMap":
			if err := yaml.Unmarshal(text, &configMap); err != nil {
				t.Fatal(err)
			}
		case "ScrapeConfig":
			if err := yaml.Unmarshal(text, &scrape); err != nil {
				t.Fatal(err)
			}
		}
	}
	dir := t.TempDir()
	for name, text := range configMap.Data {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := config.Load(filepath.Join(dir, "config.yml")); err != nil {
		t.Errorf("the ConfigMap's config.yml: %v", err)
	}

	promData, err := os.ReadFile(repoPath("examples", "fleet", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var prom struct {
		ScrapeConfigs []struct {
			JobName        string           `yaml:"job_name"`
			RelabelConfigs []map[string]any `yaml:"relabel_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(promData, &prom); err != nil {
		t.Fatal(err)
	}
	rules := prom.ScrapeConfigs[0].RelabelConfigs
	if prom.ScrapeConfigs[0].JobName != scrape.Spec.JobName || len(rules) != len(scrape.Spec.Relabelings) {
		t.Fatalf("job %q with %d relabel rules in prometheus.yml, %q with %d in the ScrapeConfig",
			prom.ScrapeConfigs[0].JobName, len(rules), scrape.Spec.JobName, len(scrape.Spec.Relabelings))
	}
	operatorKey := map[string]string{"source_labels": "sourceLabels", "target_label": "targetLabel"}
	for i, rule := range rules {
		for k, v := range rule {
			ok := operatorKey[k]
			if ok == "" {
				ok = k
			}
			got := scrape.Spec.Relabelings[i][ok]
			if k == "replacement" {
				// The replicas' names differ: Kubernetes' are qualified.
				if !strings.HasPrefix(fmt.Sprint(got), strings.TrimSuffix(fmt.Sprint(v), ":10075")) {
					t.Errorf("rule %d: replacement %v, prometheus.yml has %v", i, got, v)
				}
				continue
			}
			if fmt.Sprint(got) != fmt.Sprint(v) {
				t.Errorf("rule %d: %s = %v in the ScrapeConfig, %v in prometheus.yml", i, k, got, v)
			}
		}
	}
}
