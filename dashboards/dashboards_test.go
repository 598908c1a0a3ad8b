// Package dashboards_test checks the Grafana dashboards structurally: they
// cannot be rendered without a Grafana server, so the test holds them to
// what importing them into one needs (a datasource variable, no
// hard-coded datasource uids), to what reading them needs (titles, units),
// and to the metrics the exporter documents. internal/e2e runs every
// expression against a real Prometheus.
package dashboards_test

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/deliverability-exporter/deliverability_exporter/internal/e2e/assets"
)

var datasourceRef = map[string]string{"type": "prometheus", "uid": "${datasource}"}

func loadDashboards(t *testing.T) []*assets.Dashboard {
	t.Helper()
	ds, err := assets.LoadDashboards()
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) < 2 {
		t.Fatalf("%d dashboards under dashboards/, want the fleet overview and the domain detail", len(ds))
	}
	return ds
}

func isDatasourceRef(raw json.RawMessage) bool {
	var ref map[string]string
	if json.Unmarshal(raw, &ref) != nil || len(ref) != len(datasourceRef) {
		return false
	}
	for k, v := range datasourceRef {
		if ref[k] != v {
			return false
		}
	}
	return true
}

var uidRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{6,38}[a-z0-9]$`)

// TestDashboardModel checks the dashboard-level fields an import needs.
func TestDashboardModel(t *testing.T) {
	uids := map[string]bool{}
	for _, d := range loadDashboards(t) {
		name := d.Path
		if d.SchemaVersion != 39 {
			t.Errorf("%s: schemaVersion %d, want 39 (Grafana 10.4 and later import it)", name, d.SchemaVersion)
		}
		if !uidRE.MatchString(d.UID) {
			t.Errorf("%s: uid %q: a fixed uid of 8 to 40 lower-case letters, digits and hyphens keeps links stable", name, d.UID)
		}
		if uids[d.UID] {
			t.Errorf("%s: uid %q used twice", name, d.UID)
		}
		uids[d.UID] = true
		if d.ID != nil {
			t.Errorf("%s: id %v, want null (Grafana assigns it)", name, d.ID)
		}
		if d.Title == "" || d.Description == "" {
			t.Errorf("%s: title and description are required", name)
		}
		if !contains(d.Tags, "mail") || !contains(d.Tags, "deliverability_exporter") {
			t.Errorf("%s: tags %v, want mail and deliverability_exporter", name, d.Tags)
		}
		if len(d.Inputs) > 0 && string(d.Inputs) != "[]" {
			t.Errorf("%s: __inputs %s: file provisioning does not resolve them; use the datasource variable", name, d.Inputs)
		}

		dsVar, ok := d.Variable("datasource")
		if !ok || dsVar.Type != "datasource" || dsVar.QueryString() != "prometheus" {
			t.Errorf("%s: no datasource variable of type datasource querying prometheus", name)
		}
		// The job variable lists this exporter's jobs only: mail_score is
		// its own name (probe_success is blackbox_exporter's too). The
		// instance variable lists the job's targets, those without a score
		// (every probe failing) included.
		for _, want := range []struct{ variable, label, selector string }{
			{"job", "job", "mail_score"},
			{"instance", "instance", `probe_success{job="$job"}`},
		} {
			vr, ok := d.Variable(want.variable)
			if !ok {
				t.Errorf("%s: no %s variable", name, want.variable)
				continue
			}
			sel, label, ok := assets.LabelValuesQuery(vr.QueryString())
			if vr.Type != "query" || !ok || label != want.label || sel != want.selector {
				t.Errorf("%s: variable %s: query %q, want label_values(%s, %s)", name, want.variable, vr.QueryString(), want.selector, want.label)
			}
			if !isDatasourceRef(vr.Datasource) {
				t.Errorf("%s: variable %s: datasource %s, want %v", name, want.variable, vr.Datasource, datasourceRef)
			}
		}
		// The exporter's own metrics have their own job and instances.
		if _, ok := d.Variable("exporter_job"); ok {
			for v, want := range map[string]string{
				"exporter_job": "label_values(deliverability_exporter_build_info, job)",
				"exporter":     `label_values(deliverability_exporter_build_info{job="$exporter_job"}, instance)`,
			} {
				if vr, _ := d.Variable(v); vr.QueryString() != want {
					t.Errorf("%s: variable %s: query %q, want %s", name, v, vr.QueryString(), want)
				}
			}
		}
	}
}

var (
	jobMatcherRE      = regexp.MustCompile(`\bjob\s*(=~|!~|!=|=)\s*"([^"]*)"`)
	instanceMatcherRE = regexp.MustCompile(`\binstance\s*(=~|!~|!=|=)\s*"([^"]*)"`)
)

// TestPanelsFilterByJobAndInstance: every selector of every panel names the
// job and the instance, from the dashboard's variables, so no panel shows
// another job's series (blackbox_exporter's probe_success, say) or every
// domain where one is chosen.
func TestPanelsFilterByJobAndInstance(t *testing.T) {
	for _, d := range loadDashboards(t) {
		_, hasExporterVars := d.Variable("exporter_job")
		for _, p := range d.AllPanels() {
			for _, tg := range p.Targets {
				where := d.Path + ": panel " + p.Title + " query " + tg.RefID
				sels, err := assets.Selectors(tg.Expr)
				if err != nil {
					t.Errorf("%s: %v", where, err)
					continue
				}
				for _, s := range sels {
					if !contains(s.Labels, "job") || !contains(s.Labels, "instance") {
						t.Errorf("%s: %s is selected without a job and an instance matcher", where, s.Metric)
					}
				}
				jobVar, instanceVars := "$job", []string{"$instance"}
				if strings.HasPrefix(tg.Expr, "deliverability_exporter_") || strings.Contains(tg.Expr, "(deliverability_exporter_") {
					if !hasExporterVars {
						t.Errorf("%s: the exporter's own metrics need the exporter_job and exporter variables", where)
					}
					jobVar, instanceVars = "$exporter_job", []string{"$exporter"}
				}
				for _, m := range jobMatcherRE.FindAllStringSubmatch(tg.Expr, -1) {
					if m[1] != "=" || m[2] != jobVar {
						t.Errorf("%s: job%s%q, want job=%q", where, m[1], m[2], jobVar)
					}
				}
				for _, m := range instanceMatcherRE.FindAllStringSubmatch(tg.Expr, -1) {
					if (m[1] != "=" && m[1] != "=~") || !contains(instanceVars, m[2]) {
						t.Errorf("%s: instance%s%q, want one of %v", where, m[1], m[2], instanceVars)
					}
				}
			}
		}
	}
}

// TestCertificateExpiryStats: the stats of certificate expiry show days
// left, orange and red at the alert rules' thresholds (14 and 3 days), so
// the dashboard turns colour when the alerts fire.
func TestCertificateExpiryStats(t *testing.T) {
	found := 0
	for _, d := range loadDashboards(t) {
		for _, p := range d.AllPanels() {
			if p.Type != "stat" || len(p.Targets) == 0 {
				continue
			}
			expr := p.Targets[0].Expr
			if !strings.Contains(expr, "probe_ssl_earliest_cert_expiry") && !strings.Contains(expr, "mail_mtasts_cert_expiry_timestamp_seconds") {
				continue
			}
			found++
			where := d.Path + ": panel " + p.Title
			if p.FieldConfig.Defaults.Unit != "d" || !strings.Contains(expr, "- time()) / 86400") {
				t.Errorf("%s: unit %q, query %q: want days left ((... - time()) / 86400, unit d)", where, p.FieldConfig.Defaults.Unit, expr)
			}
			var steps []string
			for _, s := range p.FieldConfig.Defaults.Thresholds.Steps {
				v := "base"
				if s.Value != nil {
					v = fmt.Sprint(*s.Value)
				}
				steps = append(steps, s.Color+"@"+v)
			}
			if got := strings.Join(steps, " "); got != "red@base orange@3 green@14" {
				t.Errorf("%s: thresholds %s, want red@base orange@3 green@14", where, got)
			}
		}
	}
	if found < 3 {
		t.Errorf("%d certificate expiry stats, want the fleet's MX one, the domain's MX and policy host ones", found)
	}
}

// dataPanels are the panel types that show query results.
var dataPanels = map[string]bool{
	"stat": true, "timeseries": true, "table": true, "state-timeline": true,
	"gauge": true, "bargauge": true, "barchart": true, "status-history": true,
}

var (
	rateRE        = regexp.MustCompile(`\b(?:rate|irate|increase|delta|idelta|deriv)\(([^()]|\([^()]*\))*\[([^\]]*)\]`)
	millisRE      = regexp.MustCompile(`\*\s*1000\b`)
	dateUnitRE    = regexp.MustCompile(`^dateTime`)
	refIDFormat   = regexp.MustCompile(`^[A-Z]$`)
	aggregationRE = regexp.MustCompile(`^\s*(?:sum|min|max|avg|count|group)\b`)
)

// TestPanels checks every panel: a title, the datasource variable, a unit,
// queries that read with $__rate_interval.
func TestPanels(t *testing.T) {
	for _, d := range loadDashboards(t) {
		ids := map[int]bool{}
		titles := map[string]bool{}
		for _, p := range d.AllPanels() {
			where := d.Path + ": panel " + p.Title
			if p.Title == "" {
				t.Errorf("%s: panel %d has no title", d.Path, p.ID)
			}
			if ids[p.ID] {
				t.Errorf("%s: panel id %d used twice", where, p.ID)
			}
			ids[p.ID] = true
			if p.GridPos.W < 1 || p.GridPos.X+p.GridPos.W > 24 || p.GridPos.H < 1 {
				t.Errorf("%s: gridPos %+v does not fit the 24-column grid", where, p.GridPos)
			}
			if p.Type == "row" {
				continue
			}
			if titles[p.Title] {
				t.Errorf("%s: two panels have this title", where)
			}
			titles[p.Title] = true
			if !dataPanels[p.Type] {
				t.Errorf("%s: panel type %q is not one the test knows", where, p.Type)
				continue
			}
			if p.Description == "" {
				t.Errorf("%s: no description (the panel's (i) tooltip)", where)
			}
			if !isDatasourceRef(p.Datasource) {
				t.Errorf("%s: datasource %s, want %v", where, p.Datasource, datasourceRef)
			}
			units := p.Units()
			if p.FieldConfig.Defaults.Unit == "" {
				t.Errorf("%s: no unit (use \"none\" for plain numbers)", where)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: no queries", where)
			}
			refs := map[string]bool{}
			for _, tg := range p.Targets {
				if tg.Expr == "" {
					t.Errorf("%s: query %s is empty", where, tg.RefID)
				}
				if !refIDFormat.MatchString(tg.RefID) || refs[tg.RefID] {
					t.Errorf("%s: refId %q missing or repeated", where, tg.RefID)
				}
				refs[tg.RefID] = true
				if len(tg.Datasource) > 0 && !isDatasourceRef(tg.Datasource) {
					t.Errorf("%s: query %s: datasource %s, want %v", where, tg.RefID, tg.Datasource, datasourceRef)
				}
				for _, m := range rateRE.FindAllStringSubmatch(tg.Expr, -1) {
					if m[2] != "$__rate_interval" {
						t.Errorf("%s: query %s reads a rate over [%s], want [$__rate_interval]", where, tg.RefID, m[2])
					}
				}
				// Timestamps turned into milliseconds are shown as dates.
				if millisRE.MatchString(tg.Expr) && !anyMatch(units, dateUnitRE) {
					t.Errorf("%s: query %s yields milliseconds of a timestamp, but no dateTime unit is set", where, tg.RefID)
				}
				// And a panel shown as dates gets milliseconds.
				if dateUnitRE.MatchString(p.FieldConfig.Defaults.Unit) && !millisRE.MatchString(tg.Expr) {
					t.Errorf("%s: query %s is shown as a date (%s) but does not turn seconds into milliseconds (* 1000)", where, tg.RefID, p.FieldConfig.Defaults.Unit)
				}
				// A table merging several queries joins their rows on the
				// labels they share; a raw selector brings __name__ (a
				// different one per query) and the merge keeps the rows
				// apart. Each query aggregates to the labels it shows.
				if p.Type == "table" && len(p.Targets) > 1 && !aggregationRE.MatchString(tg.Expr) {
					t.Errorf("%s: query %s of a merged table is not an aggregation (max by (...) (...)), so its rows do not merge", where, tg.RefID)
				}
				if (p.Type == "table") != (tg.Format == "table") {
					t.Errorf("%s: query %s: format %q in a %s panel", where, tg.RefID, tg.Format, p.Type)
				}
			}
		}
	}
}

// TestNoHardCodedDatasources walks the raw JSON: every datasource reference
// anywhere must be the variable (the built-in annotation's Grafana
// datasource excepted), so the dashboards import into any Grafana.
func TestNoHardCodedDatasources(t *testing.T) {
	files, err := assets.DashboardFiles()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), "${DS_") {
			t.Errorf("%s: refers to a ${DS_...} input, which file provisioning does not resolve", f)
		}
		var doc any
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		var walk func(path string, v any)
		walk = func(path string, v any) {
			switch v := v.(type) {
			case map[string]any:
				for k, child := range v {
					if k == "datasource" {
						checkDatasource(t, f, path+"."+k, child)
					}
					walk(path+"."+k, child)
				}
			case []any:
				for _, child := range v {
					walk(path+"[]", child)
				}
			}
		}
		walk("", doc)
	}
}

func checkDatasource(t *testing.T, file, path string, v any) {
	switch v := v.(type) {
	case nil:
	case string:
		// The datasource variable's own query names the plugin type.
		t.Errorf("%s: %s is the string %q, not a reference to ${datasource}", file, path, v)
	case map[string]any:
		uid, _ := v["uid"].(string)
		typ, _ := v["type"].(string)
		if typ == "grafana" && uid == "-- Grafana --" {
			return // the built-in annotations
		}
		if uid != "${datasource}" || typ != "prometheus" {
			t.Errorf("%s: %s is %v, want %v", file, path, v, datasourceRef)
		}
	default:
		t.Errorf("%s: %s is %v", file, path, v)
	}
}

// variables are the values the expressions are checked with.
var variables = map[string]string{
	"job": "mail", "instance": "example.com", "datasource": "prometheus",
	"exporter_job": "deliverability_exporter", "exporter": "deliverability-exporter:10075",
	"__rate_interval": "5m", "__interval": "1m", "__range": "2d",
}

// TestDashboardMetrics checks that every expression (and every variable
// query) selects metrics the exporter documents, with labels they have.
func TestDashboardMetrics(t *testing.T) {
	cat, err := assets.LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	if p := cat.PendingProbes(); len(p) > 0 {
		t.Logf("probes not wired into the collector yet, whose announced metric names stand in: %v", p)
	}
	used := map[string]bool{}
	check := func(where, expr string) {
		expanded, err := assets.Expand(expr, variables)
		if err != nil {
			t.Errorf("%s: %v", where, err)
			return
		}
		sels, err := assets.Selectors(expanded)
		if err != nil {
			t.Errorf("%s: %v", where, err)
			return
		}
		if len(sels) == 0 {
			t.Errorf("%s: %q selects no metric", where, expr)
		}
		for _, s := range sels {
			used[s.Metric] = true
			for _, p := range cat.CheckSelector(s) {
				t.Errorf("%s: %s", where, p)
			}
		}
	}
	for _, d := range loadDashboards(t) {
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			sel, _, ok := assets.LabelValuesQuery(v.QueryString())
			if !ok || sel == "" {
				t.Errorf("%s: variable %s: query %q is not label_values(<selector>, <label>)", d.Path, v.Name, v.QueryString())
				continue
			}
			check(d.Path+": variable "+v.Name, sel)
		}
		for _, p := range d.AllPanels() {
			for _, tg := range p.Targets {
				check(d.Path+": panel "+p.Title+" query "+tg.RefID, tg.Expr)
			}
		}
	}
	// The list of what the dashboards show.
	for _, m := range []string{
		"mail_score", "mail_check_success", "probe_ssl_earliest_cert_expiry", "mail_dnsbl_listed",
		"mail_probe_error", "mail_spf_dns_lookups", "mail_dkim_key_bits", "mail_probe_duration_seconds",
		"mail_dns_queries", "mail_probe_result_age_seconds", "mail_tls_key_bits", "mail_tls_cipher_info",
		"mail_smtp_rcpt_code", "mail_mtasts_cert_expiry_timestamp_seconds",
	} {
		if !used[m] {
			t.Errorf("no dashboard shows %s", m)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func anyMatch(list []string, re *regexp.Regexp) bool {
	for _, s := range list {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}
