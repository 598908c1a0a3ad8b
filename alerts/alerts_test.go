// Package alerts_test checks the alert rules against the conventions the
// project ships them with, the runbook and the metrics the exporter
// documents. promtool itself runs them in internal/e2e.
package alerts_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/deliverability-exporter/deliverability_exporter/internal/e2e/assets"
)

const runbookBase = "https://github.com/deliverability-exporter/deliverability_exporter/blob/main/docs/runbook.md#"

// perTarget lists the alerts whose expression aggregates the domains away
// (or has none to begin with), so their description cannot name
// {{ $labels.instance }} as the probed domain.
var perTarget = map[string]bool{
	"MailProbeTargetsMissing": false, // absent(): no target at all
	"MailBlocklistUnhealthy":  false, // per list, counted over the domains
}

func loadAlerts(t *testing.T) []assets.Rule {
	t.Helper()
	files, err := assets.LoadRules()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no rule files under alerts/")
	}
	alerts := assets.Alerts(files)
	if len(alerts) == 0 {
		t.Fatal("no alerting rules")
	}
	return alerts
}

var (
	alertNameRE = regexp.MustCompile(`^Mail[A-Z][A-Za-z0-9]*$`)
	summaryRE   = regexp.MustCompile(`^[A-Z][^{}]*\.$`)
)

// TestAlertConventions checks the monitoring-mixin conventions: names,
// severity, annotations, a for: that outlasts a missed 5-minute scrape.
func TestAlertConventions(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range loadAlerts(t) {
		name := r.Alert
		if !alertNameRE.MatchString(name) {
			t.Errorf("%s: alert names are CamelCase and start with Mail", name)
		}
		if seen[name] {
			t.Errorf("%s: defined twice", name)
		}
		seen[name] = true

		switch r.Labels["severity"] {
		case "critical", "warning", "info":
		default:
			t.Errorf("%s: severity %q, want critical, warning or info", name, r.Labels["severity"])
		}
		for k := range r.Labels {
			if k != "severity" {
				t.Errorf("%s: label %s; the rules add severity only", name, k)
			}
		}

		for k := range r.Annotations {
			switch k {
			case "summary", "description", "runbook_url":
			default:
				t.Errorf("%s: unexpected annotation %s", name, k)
			}
		}
		// The summary is static, so a notification group reads as one.
		if s := r.Annotations["summary"]; !summaryRE.MatchString(s) {
			t.Errorf("%s: summary %q: a static sentence, capitalised, ending in a period", name, s)
		}
		desc := r.Annotations["description"]
		if desc == "" {
			t.Errorf("%s: no description", name)
		}
		if want, ok := perTarget[name]; !ok || want {
			if !strings.Contains(desc, "$labels.instance") {
				t.Errorf("%s: the description does not name {{ $labels.instance }}", name)
			}
		} else if strings.Contains(desc, "$labels.instance") {
			t.Errorf("%s: the description names {{ $labels.instance }}, which the expression does not keep", name)
		}
		if got, want := r.Annotations["runbook_url"], runbookBase+strings.ToLower(name); got != want {
			t.Errorf("%s: runbook_url %q, want %q", name, got, want)
		}

		d, err := time.ParseDuration(r.For)
		if err != nil {
			t.Errorf("%s: for: %q: %v", name, r.For, err)
		} else if d < 5*time.Minute {
			t.Errorf("%s: for: %s is shorter than the 5-minute scrape interval", name, r.For)
		}
	}
	for name := range perTarget {
		if !seen[name] {
			t.Errorf("perTarget names %s, which is not an alert", name)
		}
	}
}

// TestRunbook checks that every alert's runbook_url anchor is a section of
// docs/runbook.md, and that the runbook has no section for an alert that
// does not exist.
func TestRunbook(t *testing.T) {
	data, err := os.ReadFile(assets.Path("docs", "runbook.md"))
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			anchors[githubAnchor(h)] = strings.TrimSpace(h)
		}
	}
	alerts := map[string]bool{}
	for _, r := range loadAlerts(t) {
		alerts[r.Alert] = true
		_, anchor, _ := strings.Cut(r.Annotations["runbook_url"], "#")
		if anchors[anchor] != r.Alert {
			t.Errorf("%s: docs/runbook.md has no section \"## %s\" for the anchor #%s", r.Alert, r.Alert, anchor)
		}
	}
	for _, h := range anchors {
		if !alerts[h] {
			t.Errorf("docs/runbook.md has a section %q, which is not an alert", h)
		}
	}
	// Links between sections must land too.
	for _, m := range regexp.MustCompile(`\]\(#([a-z0-9-]+)\)`).FindAllStringSubmatch(string(data), -1) {
		if _, ok := anchors[m[1]]; !ok {
			t.Errorf("docs/runbook.md links to #%s, which is no section", m[1])
		}
	}
}

// githubAnchor is the id GitHub gives a heading: lower case, punctuation
// other than hyphens and underscores dropped, spaces as hyphens.
func githubAnchor(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// probeScraped tells the metrics /probe answers with (their series go
// stale when a scrape fails) from Prometheus' own and the exporter's
// /metrics.
func probeScraped(name string) bool {
	return !strings.HasPrefix(name, "deliverability_exporter_") && name != "up" &&
		!strings.HasPrefix(name, "scrape_") && !strings.HasPrefix(name, "ALERTS")
}

// TestAlertMetrics checks every selector against the metrics the exporter
// documents (labels included), and that /probe metrics are read through a
// window of at least 15 minutes, which rides over two missed scrapes.
func TestAlertMetrics(t *testing.T) {
	cat, err := assets.LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	if p := cat.PendingProbes(); len(p) > 0 {
		t.Logf("probes not wired into the collector yet, whose announced metric names stand in: %v", p)
	}
	for _, r := range loadAlerts(t) {
		sels, err := assets.Selectors(r.Expr)
		if err != nil {
			t.Errorf("%s: %v", r.Alert, err)
			continue
		}
		if len(sels) == 0 {
			t.Errorf("%s: the expression selects no metric", r.Alert)
		}
		for _, s := range sels {
			for _, p := range cat.CheckSelector(s) {
				t.Errorf("%s: %s", r.Alert, p)
			}
			if !probeScraped(s.Metric) {
				continue
			}
			d, err := time.ParseDuration(s.Range)
			if err != nil || d < 15*time.Minute {
				t.Errorf("%s: %s is read without a window of 15m or more (last_over_time(%s[15m])): one missed scrape would reset the alert", r.Alert, s.Metric, s.Metric)
			}
		}
		// Check ids named in the expression must exist.
		for _, m := range regexp.MustCompile(`check(?:=|!=|=~|!~)"([^"]+)"`).FindAllStringSubmatch(r.Expr, -1) {
			for _, id := range strings.Split(m[1], "|") {
				id = strings.ReplaceAll(id, `\\.`, ".")
				if _, ok := cat.Checks[id]; !ok && !pendingCheck(cat, id) {
					t.Errorf("%s: check %q is not in the catalogue", r.Alert, id)
				}
			}
		}
	}
}

// pendingCheck reports whether a check id belongs to a probe that is not
// wired into the collector yet.
func pendingCheck(c *assets.Catalogue, id string) bool {
	p := assets.ProbeOfCheck(id)
	return p != "" && !c.Wired[p]
}

// ruleTests is the part of a promtool test file this test reads.
type ruleTests struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		Name      string `yaml:"name"`
		AlertTest []struct {
			EvalTime  string `yaml:"eval_time"`
			AlertName string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

// TestEveryAlertUnitTested checks that the promtool tests make every alert
// fire somewhere and stay quiet somewhere.
func TestEveryAlertUnitTested(t *testing.T) {
	files, err := assets.RuleTestFiles()
	if err != nil || len(files) == 0 {
		t.Fatalf("no promtool test files under alerts/ (%v)", err)
	}
	firing, quiet := map[string]bool{}, map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var rt ruleTests
		if err := yaml.Unmarshal(data, &rt); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, tc := range rt.Tests {
			for _, at := range tc.AlertTest {
				if len(at.ExpAlerts) > 0 {
					firing[at.AlertName] = true
				} else {
					quiet[at.AlertName] = true
				}
			}
		}
	}
	names := map[string]bool{}
	for _, r := range loadAlerts(t) {
		names[r.Alert] = true
		if !firing[r.Alert] {
			t.Errorf("%s: no promtool test makes it fire", r.Alert)
		}
		if !quiet[r.Alert] {
			t.Errorf("%s: no promtool test checks that it stays quiet", r.Alert)
		}
	}
	for name := range firing {
		if !names[name] {
			t.Errorf("the promtool tests expect %s, which is not an alert", name)
		}
	}
}
