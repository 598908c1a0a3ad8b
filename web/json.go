package web

import (
	"encoding/json"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/collector"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// JSONSchemaVersion is the version of the JSON report format. It changes
// only when a field changes meaning or disappears; new fields may be added
// without changing it.
const JSONSchemaVersion = 1

// JSONReport is a report in the documented JSON format (README: "JSON
// report"). It carries the same result model the metrics come from.
type JSONReport struct {
	Target          JSONTarget  `json:"target"`
	Module          string      `json:"module"`
	StartedAt       time.Time   `json:"started_at"`
	DurationSeconds float64     `json:"duration_seconds"`
	WaitedSeconds   float64     `json:"waited_seconds"`
	Success         bool        `json:"success"`
	Score           *float64    `json:"score"`
	FailedMust      []string    `json:"failed_must"`
	DNS             JSONDNS     `json:"dns"`
	Probes          []JSONProbe `json:"probes"`
}

// JSONTarget is the probed target.
type JSONTarget struct {
	Input string `json:"input"`
	Kind  string `json:"kind"`
	Name  string `json:"name,omitempty"`
	IP    string `json:"ip,omitempty"`
	Port  int    `json:"port"`
}

// JSONDNS is what the probe request asked.
type JSONDNS struct {
	Resolvers   []string `json:"resolvers"`
	Queries     int64    `json:"queries"`
	CacheHits   int64    `json:"cache_hits"`
	SharedHits  int64    `json:"shared_cache_hits"`
	CacheMisses int64    `json:"cache_misses"`
	// Bogus are the questions the resolver refused as DNSSEC-bogus; the
	// checks ran on the answers it gave with checking disabled.
	Bogus []JSONBogus `json:"bogus"`
}

// JSONBogus is one question a validating resolver refused as bogus, with
// the Extended DNS Errors (RFC 8914) it gave.
type JSONBogus struct {
	Name           string              `json:"name"`
	Type           string              `json:"type"`
	Server         string              `json:"server"`
	ExtendedErrors []JSONExtendedError `json:"extended_errors"`
}

// JSONExtendedError is one Extended DNS Error: its code, the code's name
// in the IANA registry and the resolver's text.
type JSONExtendedError struct {
	Code    uint16 `json:"code"`
	Purpose string `json:"purpose"`
	Text    string `json:"text"`
}

// JSONProbe is one probe's results.
type JSONProbe struct {
	Name            string            `json:"name"`
	DurationSeconds float64           `json:"duration_seconds"`
	Errors          []string          `json:"errors"`
	Checks          []JSONCheck       `json:"checks"`
	Measurements    []JSONMeasurement `json:"measurements"`
	Notes           []string          `json:"notes"`
	Details         []probes.Detail   `json:"details"`
	// ResultAgeSeconds is how old a result served again under the
	// module's min_interval is; 0 for a result of this request.
	ResultAgeSeconds float64 `json:"result_age_seconds"`
	// Reused are the facts the probe judged that were gathered for
	// another request (see probes.Reuse).
	Reused []JSONReuse `json:"reused"`
}

// JSONReuse is a fact gathered for another request: an SMTP conversation
// held for another domain on the same mail server (other_target), or for
// this one earlier, within the smtp min_interval.
type JSONReuse struct {
	Fact        string    `json:"fact"`
	HeldFor     string    `json:"held_for"`
	OtherTarget bool      `json:"other_target"`
	HeldAt      time.Time `json:"held_at"`
	// AgeSeconds is how long before the report started it was gathered.
	AgeSeconds float64 `json:"age_seconds"`
}

// JSONCheck is one check; status is pass, fail, skip or error.
type JSONCheck struct {
	ID          string   `json:"id"`
	Level       string   `json:"level"`
	Status      string   `json:"status"`
	Reason      string   `json:"reason"`
	Remediation string   `json:"remediation,omitempty"`
	Evidence    []string `json:"evidence"`
}

// JSONMeasurement is one sample, as the metric it becomes.
type JSONMeasurement struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels"`
	Value  float64           `json:"value"`
}

// JSON returns the report in the documented JSON format, with checks in the
// report's order (failures first) and measurements sorted by name and
// labels, so equal results give equal documents.
func JSON(r *collector.Report) JSONReport {
	out := JSONReport{
		Target: JSONTarget{
			Input: r.Target.String(),
			Kind:  r.Target.Kind.String(),
			Name:  r.Target.Name,
			Port:  r.Target.Port,
		},
		Module:          r.Module,
		StartedAt:       r.Start.UTC(),
		DurationSeconds: r.Duration.Seconds(),
		WaitedSeconds:   r.Waited.Seconds(),
		Success:         r.Success(),
		FailedMust:      nonNil(r.FailedMust()),
		DNS: JSONDNS{
			Resolvers:   nonNil(r.Resolvers),
			Queries:     r.DNS.Queries,
			CacheHits:   r.DNS.CacheHits,
			SharedHits:  r.DNS.SharedHits,
			CacheMisses: r.DNS.CacheMisses,
			Bogus:       []JSONBogus{},
		},
		Probes: []JSONProbe{},
	}
	if r.Target.Kind == probes.KindIP {
		out.Target.IP = r.Target.IP.String()
	}
	for _, b := range r.Bogus {
		jb := JSONBogus{Name: strings.TrimSuffix(b.Name, "."), Type: dns.TypeToString[b.Type], Server: b.Server, ExtendedErrors: []JSONExtendedError{}}
		for _, e := range b.Errors {
			jb.ExtendedErrors = append(jb.ExtendedErrors, JSONExtendedError{Code: e.Code, Purpose: e.Purpose(), Text: e.Text})
		}
		out.DNS.Bogus = append(out.DNS.Bogus, jb)
	}
	if score, ok := r.Score(); ok {
		out.Score = &score
	}
	for _, p := range r.Probes {
		jp := JSONProbe{
			Name:             p.Name,
			DurationSeconds:  p.Duration.Seconds(),
			Errors:           nonNil(p.Result.Errors()),
			Checks:           []JSONCheck{},
			Measurements:     []JSONMeasurement{},
			Notes:            nonNil(p.Result.Notes()),
			Details:          p.Result.Details(),
			ResultAgeSeconds: p.Age.Seconds(),
			Reused:           []JSONReuse{},
		}
		for _, u := range p.Result.Reuses() {
			jp.Reused = append(jp.Reused, JSONReuse{Fact: u.Fact, HeldFor: u.HeldFor, OtherTarget: u.HeldFor != r.Target.String(),
				HeldAt: u.HeldAt.UTC(), AgeSeconds: ReuseAge(r, u).Seconds()})
		}
		if jp.Details == nil {
			jp.Details = []probes.Detail{}
		}
		for _, c := range SortedChecks(p.Result) {
			jp.Checks = append(jp.Checks, JSONCheck{
				ID:          c.ID,
				Level:       string(c.Level),
				Status:      c.Status.String(),
				Reason:      c.Reason,
				Remediation: c.Remediation,
				Evidence:    nonNil(c.Evidence),
			})
		}
		for _, m := range p.Result.Measurements() {
			labels := map[string]string{}
			for i, name := range m.Spec.Labels {
				labels[name] = m.LabelValues[i]
			}
			jp.Measurements = append(jp.Measurements, JSONMeasurement{Name: m.Spec.Name, Labels: labels, Value: m.Value})
		}
		sort.SliceStable(jp.Measurements, func(i, j int) bool {
			a, b := jp.Measurements[i], jp.Measurements[j]
			if a.Name != b.Name {
				return a.Name < b.Name
			}
			return labelKey(a.Labels) < labelKey(b.Labels)
		})
		out.Probes = append(out.Probes, jp)
	}
	return out
}

func labelKey(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + labels[k] + "\xff")
	}
	return b.String()
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// JSONDocument is what `check --format json` prints: one report per target.
type JSONDocument struct {
	SchemaVersion int          `json:"schema_version"`
	Success       bool         `json:"success"`
	Reports       []JSONReport `json:"reports"`
}

// WriteJSON writes the reports as one JSON document.
func WriteJSON(w io.Writer, reports []*collector.Report) error {
	doc := JSONDocument{SchemaVersion: JSONSchemaVersion, Success: true, Reports: []JSONReport{}}
	for _, r := range reports {
		jr := JSON(r)
		doc.Success = doc.Success && jr.Success
		doc.Reports = append(doc.Reports, jr)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
