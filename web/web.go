package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/collector"
	"github.com/deliverability-exporter/deliverability_exporter/config"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

//go:embed templates/*.html
var templateFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"upper": strings.ToUpper,
	"seconds": func(d time.Duration) string {
		return d.Round(time.Millisecond).String()
	},
	"utc": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
}).ParseFS(templateFS, "templates/*.html"))

// reportView is what the report template renders.
type reportView struct {
	ID      uint64
	Report  *collector.Report
	Verdict string
	Success bool
	Score   string
	// BogusSummary introduces the questions refused as DNSSEC-bogus, and
	// BogusLines lists them.
	BogusSummary string
	BogusLines   []string
	Probes       []probeView
	Metrics      string
	Logs         string
}

type probeView struct {
	Name     string
	Duration time.Duration
	Errors   []string
	Checks   []probes.Check
	Notes    []string
	Details  []probes.Detail
	// Age is how old a result served again under min_interval is.
	Age time.Duration
	// Reused says which facts were gathered for another request.
	Reused []string
}

func newReportView(id uint64, r *collector.Report, logs string) reportView {
	v := reportView{ID: id, Report: r, Verdict: r.Verdict(), Success: r.Success(), Logs: logs, Score: "no check applied"}
	if score, ok := r.Score(); ok {
		v.Score = fmt.Sprintf("%.0f/100", score)
	}
	if len(r.Bogus) > 0 {
		v.BogusSummary = BogusSummary(len(r.Bogus))
		v.BogusLines = BogusLines(r.Bogus)
	}
	for _, p := range r.Probes {
		v.Probes = append(v.Probes, probeView{
			Name:     p.Name,
			Duration: p.Duration,
			Errors:   p.Result.Errors(),
			Checks:   SortedChecks(p.Result),
			Notes:    p.Result.Notes(),
			Details:  p.Result.Details(),
			Age:      p.Age,
			Reused:   ReuseLines(r, p.Result),
		})
	}
	v.Metrics, _ = exposition(r) // as /probe answers with them
	return v
}

// WriteHTML renders a report as a page that reads without JavaScript: the
// same content as the text report and debug=true.
func WriteHTML(w io.Writer, r *collector.Report, id uint64, logs string) error {
	return templates.ExecuteTemplate(w, "report.html", newReportView(id, r, logs))
}

// landingView is what the landing page renders.
type landingView struct {
	Modules      []landingModule
	Recent       []recentView
	ConfigSource string
	Version      string
	ProbeURL     string
}

type landingModule struct {
	Name      string
	Probes    []string
	Timeout   time.Duration
	Resolvers []string
}

type recentView struct {
	ID      uint64
	Time    time.Time
	Target  string
	Module  string
	Verdict string
	Success bool
	Score   string
}

// WebUI serves the landing page and the HTML reports.
type WebUI struct {
	Modules      func() *collector.Modules
	ConfigSource func() string
	History      *History
	Probe        *ProbeHandler
	Version      string
	// ExternalURL is where people and Prometheus reach the exporter
	// (--web.external-url), shown in the scrape URL; empty: not known.
	// Links on the pages are relative, so they work under any route
	// prefix and behind a proxy that strips one.
	ExternalURL string
}

// Landing serves "/": the modules, a form that runs a probe, and the most
// recent probes with links to their reports.
func (u *WebUI) Landing(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	cfg := u.Modules()
	v := landingView{ConfigSource: u.ConfigSource(), Version: u.Version, ProbeURL: "/probe"}
	if u.ExternalURL != "" {
		v.ProbeURL = strings.TrimSuffix(u.ExternalURL, "/") + "/probe"
	}
	for _, name := range cfg.Names() {
		m, _ := cfg.Module(name)
		v.Modules = append(v.Modules, landingModule{Name: name, Probes: m.ProbeNames(), Timeout: m.Timeout(), Resolvers: m.ResolverAddresses()})
	}
	for _, e := range u.History.Recent() {
		rv := recentView{ID: e.ID, Time: e.Time, Target: e.Report.Target.String(), Module: e.Report.Module,
			Verdict: e.Report.Verdict(), Success: e.Report.Success(), Score: "–"}
		if score, ok := e.Report.Score(); ok {
			rv.Score = fmt.Sprintf("%.0f", score)
		}
		v.Recent = append(v.Recent, rv)
	}
	render(w, "landing.html", v)
}

// Report serves "/report": ?id=N shows a remembered report; ?target=T
// [&module=M] runs a probe (as /probe does) and shows its report.
func (u *WebUI) Report(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if idText := q.Get("id"); idText != "" {
		id, err := strconv.ParseUint(idText, 10, 64)
		if err != nil {
			http.Error(w, "id must be a report number", http.StatusBadRequest)
			return
		}
		e, ok := u.History.Get(id)
		if !ok {
			http.Error(w, fmt.Sprintf("report %d is no longer remembered (the exporter keeps the last --history.limit reports)", id), http.StatusNotFound)
			return
		}
		var buf bytes.Buffer
		if err := WriteHTML(&buf, e.Report, e.ID, e.Logs); err != nil {
			http.Error(w, "rendering the report: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(buf.Bytes())
		return
	}
	if !q.Has("target") {
		http.Error(w, "give id=N for a remembered report, or target=T (and module=M) to run a probe", http.StatusBadRequest)
		return
	}
	report, logs, ok := u.Probe.run(w, r, true)
	if !ok {
		return
	}
	id := u.History.Add(report, logs)
	var buf bytes.Buffer
	if err := WriteHTML(&buf, report, id, logs); err != nil {
		http.Error(w, "rendering the report: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// Config serves "/config": the configuration in force as YAML, with its
// defaults filled in and secrets redacted (config.RedactedYAML says what
// counts as one).
func (u *WebUI) Config(w http.ResponseWriter, _ *http.Request) {
	text, err := u.Modules().Config.RedactedYAML()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "# The configuration in force, from %s, with defaults filled in and secrets shown as %s.\n", u.ConfigSource(), config.Redacted)
	_, _ = w.Write(text)
}

func render(w http.ResponseWriter, name string, data any) {
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, "rendering the page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}
