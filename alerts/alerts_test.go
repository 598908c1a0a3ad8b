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
		if !alerts[h] && !runbookSections[h] {
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

// runbookSections are the runbook's sections that are not an alert's.
var runbookSections = map[string]bool{"What pages": true}

var (
	checkSuccessRE = regexp.MustCompile(`mail_check_success\{([^}]*)\}`)
	matcherRE      = regexp.MustCompile(`([a-z_]+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"`)
	runbookRowRE   = regexp.MustCompile("^\\| `([a-z0-9_.]+)` \\| \\[(Mail[A-Za-z]+)\\]\\(#[a-z]+\\)[^|]* \\| ([a-z]+) \\|$")
)

// selectsCheck reports whether one of the expression's mail_check_success
// selectors selects the series of a check at a level.
func selectsCheck(t *testing.T, expr, check, level string) bool {
	t.Helper()
	labels := map[string]string{"check": check, "level": level}
	for _, sel := range checkSuccessRE.FindAllStringSubmatch(expr, -1) {
		all := true
		for _, m := range matcherRE.FindAllStringSubmatch(sel[1], -1) {
			value := strings.ReplaceAll(m[3], `\\`, `\`) // PromQL string escapes
			got, ok := labels[m[1]]
			if !ok {
				continue // job, instance: any
			}
			var match bool
			switch m[2] {
			case "=":
				match = got == value
			case "!=":
				match = got != value
			case "=~", "!~":
				re, err := regexp.Compile("^(?:" + value + ")$")
				if err != nil {
					t.Fatalf("%s: %v", value, err)
				}
				match = re.MatchString(got) == (m[2] == "=~")
			}
			if !match {
				all = false
			}
		}
		if all {
			return true
		}
	}
	return false
}

// TestEveryMustCheckAlertsOnce: each must check of the catalogue is selected
// by exactly one alert (so a fault alerts once), and the runbook's table of
// what pages says which, with that alert's severity.
func TestEveryMustCheckAlertsOnce(t *testing.T) {
	cat, err := assets.LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	alerts := loadAlerts(t)
	severity := map[string]string{}
	description := map[string]string{}
	for _, r := range alerts {
		severity[r.Alert] = r.Labels["severity"]
		description[r.Alert] = r.Annotations["description"]
	}
	// Checks alerted on through a measurement rather than their
	// mail_check_success series; the alert's description names the check.
	measuredBy := map[string]string{"dnsbl.ip": "MailBlocklisted", "dnsbl.domain": "MailBlocklisted"}
	covering := map[string]string{}
	for id, level := range cat.Checks {
		if level != "must" {
			continue
		}
		var by []string
		for _, r := range alerts {
			if selectsCheck(t, r.Expr, id, level) {
				by = append(by, r.Alert)
			}
		}
		if alert, ok := measuredBy[id]; ok {
			if !strings.Contains(description[alert], id) {
				t.Errorf("%s stands for %s, but its description does not name the check", alert, id)
			}
			by = append(by, alert)
		}
		if len(by) != 1 {
			t.Errorf("must check %s is selected by %v, want exactly one alert", id, by)
			continue
		}
		covering[id] = by[0]
	}
	// The alerts really select what the test thinks: a should check has
	// no alert, an unknown id none.
	for _, r := range alerts {
		if selectsCheck(t, r.Expr, "mx.ipv6", "may") || selectsCheck(t, r.Expr, "dmarc.policy", "should") {
			t.Errorf("%s selects checks that are not must", r.Alert)
		}
	}
	if covering["ptr.present"] != "MailHygieneCheckFailing" || covering["mx.resolves"] != "MailMustCheckFailing" {
		t.Errorf("ptr.present alerts as %s, mx.resolves as %s", covering["ptr.present"], covering["mx.resolves"])
	}

	data, err := os.ReadFile(assets.Path("docs", "runbook.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		m := runbookRowRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		id, alert, sev := m[1], m[2], m[3]
		rows[id] = true
		if want, ok := covering[id]; !ok {
			t.Errorf("docs/runbook.md lists %s, which is no must check with one alert", id)
		} else if alert != want || sev != severity[want] {
			t.Errorf("docs/runbook.md: %s alerts as %s (%s), the rules say %s (%s)", id, alert, sev, want, severity[want])
		}
	}
	for id := range covering {
		if !rows[id] {
			t.Errorf("docs/runbook.md's table of what pages lacks %s", id)
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

// TestBlackboxScoping keeps alerts/blackbox/ and the README's Prometheus
// section in step: scoped.rules.yml is community.rules.yml with every
// selector of a metric name this exporter shares with blackbox_exporter
// (probe_*) scoped to {job!="mail"}, and nothing else changed; the README
// shows exactly the scoped expressions.
func TestBlackboxScoping(t *testing.T) {
	cat, err := assets.LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	community, err := assets.LoadRuleFile(assets.Path("alerts", "blackbox", "community.rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	scoped, err := assets.LoadRuleFile(assets.Path("alerts", "blackbox", "scoped.rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(assets.Path("README.md"))
	if err != nil {
		t.Fatal(err)
	}
	section := regexp.MustCompile("(?s)### Beside blackbox_exporter\n(.*?)\n## ").FindSubmatch(readme)
	if section == nil {
		t.Fatal("README.md has no \"### Beside blackbox_exporter\" section")
	}
	var shown []struct {
		Alert string `yaml:"alert"`
		Expr  string `yaml:"expr"`
	}
	block := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindSubmatch(section[1])
	if block == nil {
		t.Fatal("the README's blackbox section has no yaml block")
	}
	if err := yaml.Unmarshal(block[1], &shown); err != nil {
		t.Fatalf("the README's blackbox rules: %v", err)
	}

	want := assets.Alerts([]*assets.RuleFile{community})
	got := assets.Alerts([]*assets.RuleFile{scoped})
	if len(want) == 0 || len(got) != len(want) || len(shown) != len(want) {
		t.Fatalf("%d community rules, %d scoped, %d in the README", len(want), len(got), len(shown))
	}
	shared := 0
	for i, c := range want {
		scopedExpr := c.Expr
		sels, err := assets.Selectors(c.Expr)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sels {
			if _, ours := cat.Metrics[s.Metric]; !ours || !strings.HasPrefix(s.Metric, "probe_") {
				continue
			}
			shared++
			scopedExpr = regexp.MustCompile(`\b`+s.Metric+`\b(\[|\s|\)|$)`).ReplaceAllString(scopedExpr, s.Metric+`{job!="mail"}$1`)
		}
		g := got[i]
		if g.Alert != c.Alert || g.For != c.For || g.Labels["severity"] != c.Labels["severity"] ||
			strings.TrimSpace(g.Expr) != strings.TrimSpace(scopedExpr) {
			t.Errorf("scoped rule %d: %s %q (for %s, %s), want %s %q (for %s, %s)", i, g.Alert, g.Expr, g.For, g.Labels["severity"],
				c.Alert, scopedExpr, c.For, c.Labels["severity"])
		}
		if shown[i].Alert != c.Alert || strings.TrimSpace(shown[i].Expr) != strings.TrimSpace(scopedExpr) {
			t.Errorf("README rule %d: %s %q, want %s %q", i, shown[i].Alert, shown[i].Expr, c.Alert, scopedExpr)
		}
	}
	if shared < len(want) {
		t.Errorf("only %d selectors of shared metric names in %d community rules", shared, len(want))
	}
}
