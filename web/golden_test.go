package web

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/common/expfmt"

	"github.com/deliverability-exporter/deliverability_exporter/collector"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenReport probes a target of the example world and pins what varies
// between runs (times, durations), so the rendering can be compared byte
// for byte. The resolver address is replaced in the rendered output.
func goldenReport(t *testing.T, world *testbed.DNSServer, target string) *collector.Report {
	t.Helper()
	cfg := worldConfig(t, world.Addr, "")
	m, _ := cfg.Module("mail")
	tgt, err := probes.ParseTarget(target)
	if err != nil {
		t.Fatal(err)
	}
	r := m.Run(context.Background(), &probes.Request{Target: tgt}, collector.RunOptions{})
	r.Start = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	r.Duration = 42 * time.Millisecond
	r.Waited = 0
	for i := range r.Probes {
		r.Probes[i].Duration = 40 * time.Millisecond
	}
	return r
}

func checkGolden(t *testing.T, name string, got []byte, resolver string) {
	t.Helper()
	got = bytes.ReplaceAll(got, []byte(resolver), []byte("127.0.0.1:53"))
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./collector -run Golden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update after checking the change):\n--- got\n%s", name, got)
	}
}

func TestGoldenReports(t *testing.T) {
	world := testbed.StartExampleWorld(t)
	for _, target := range []string{"example.test", "broken.test", "nullmx.test", "nomx.test"} {
		t.Run(target, func(t *testing.T) {
			r := goldenReport(t, world, target)
			var text, js, page bytes.Buffer
			if err := WriteText(&text, r); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, target+".txt", text.Bytes(), world.Addr)
			for suffix, detail := range map[string]TextDetail{".summary.txt": TextSummary, ".failures.txt": TextFailures} {
				var b bytes.Buffer
				if err := WriteTextStyled(&b, r, TextStyle{Detail: detail}); err != nil {
					t.Fatal(err)
				}
				checkGolden(t, target+suffix, b.Bytes(), world.Addr)
			}
			if err := WriteJSON(&js, []*collector.Report{r}); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, target+".json", js.Bytes(), world.Addr)
			if err := WriteHTML(&page, r, 7, ""); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, target+".html", page.Bytes(), world.Addr)
		})
	}
}

// TestGoldenBogusReport renders the report of a domain whose zone the
// resolver refuses as DNSSEC-bogus: dnssec.not_bogus fails with the
// resolver's Extended DNS Error, every other check is decided on the
// answers given with checking disabled, and the report lists those.
func TestGoldenBogusReport(t *testing.T) {
	world := testbed.StartExampleWorld(t)
	world.SetBogus("example.test", dns.EDNS0_EDE{InfoCode: dns.ExtendedErrorCodeDNSKEYMissing,
		ExtraText: "validation failure <example.test. MX IN>: No DNSKEY for key example.test. while building chain of trust"})
	r := goldenReport(t, world, "example.test")
	if c, ok := findCheck(r, "dnssec.not_bogus"); !ok || c.Status != probes.StatusFail {
		t.Errorf("dnssec.not_bogus = %+v, want a failure", c)
	}
	for _, p := range r.Probes {
		if errs := p.Result.Errors(); len(errs) > 0 {
			t.Errorf("%s could not finish on the unvalidated answers: %v", p.Name, errs)
		}
	}
	var text, js, page bytes.Buffer
	if err := WriteText(&text, r); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "example.test-bogus.txt", text.Bytes(), world.Addr)
	if err := WriteJSON(&js, []*collector.Report{r}); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "example.test-bogus.json", js.Bytes(), world.Addr)
	if err := WriteHTML(&page, r, 7, ""); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "example.test-bogus.html", page.Bytes(), world.Addr)
}

func findCheck(r *collector.Report, id string) (probes.Check, bool) {
	for _, p := range r.Probes {
		if c, ok := p.Result.Check(id); ok {
			return c, true
		}
	}
	return probes.Check{}, false
}

// TestJSONSchema pins the documented field names: a pipeline reading the
// JSON must not break because a Go field was renamed.
func TestJSONSchema(t *testing.T) {
	world := testbed.StartExampleWorld(t)
	var buf bytes.Buffer
	if err := WriteJSON(&buf, []*collector.Report{goldenReport(t, world, "broken.test")}); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	keys := func(m map[string]any) string {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		return strings.Join(ks, ",")
	}
	if got := keys(doc); got != "reports,schema_version,success" {
		t.Errorf("document keys: %s", got)
	}
	report := doc["reports"].([]any)[0].(map[string]any)
	if got := keys(report); got != "dns,duration_seconds,failed_must,module,probes,score,started_at,success,target,waited_seconds" {
		t.Errorf("report keys: %s", got)
	}
	if got := keys(report["dns"].(map[string]any)); got != "bogus,cache_hits,cache_misses,queries,resolvers,shared_cache_hits" {
		t.Errorf("dns keys: %s", got)
	}
	probe := report["probes"].([]any)[0].(map[string]any)
	if got := keys(probe); got != "checks,details,duration_seconds,errors,measurements,name,notes,result_age_seconds,reused" {
		t.Errorf("probe keys: %s", got)
	}
	check := probe["checks"].([]any)[0].(map[string]any)
	if got := keys(check); got != "evidence,id,level,reason,remediation,status" {
		t.Errorf("check keys: %s", got)
	}
	if check["status"] != "fail" || report["success"] != false {
		t.Errorf("the first check of a failing report is %v, success %v", check["status"], report["success"])
	}
}

// TestExpositionOfTheExampleWorld: /probe's exposition, written by hand,
// is what the registry would have written, for every domain of the
// example world, and what debug=true shows.
func TestExpositionOfTheExampleWorld(t *testing.T) {
	world := testbed.StartExampleWorld(t)
	for _, target := range []string{"example.test", "broken.test", "nullmx.test", "nomx.test"} {
		r := goldenReport(t, world, target)
		var got, want bytes.Buffer
		if err := r.WriteExposition(&got); err != nil {
			t.Errorf("%s: %v", target, err)
		}
		reg, _ := r.Registry()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		enc := expfmt.NewEncoder(&want, expfmt.NewFormat(expfmt.TypeTextPlain))
		for _, mf := range mfs {
			if err := enc.Encode(mf); err != nil {
				t.Fatal(err)
			}
		}
		if got.String() != want.String() {
			t.Errorf("%s: the exposition differs from the registry's:\n--- got\n%s\n--- want\n%s", target, got.String(), want.String())
		}
		// debug=true shows the very answer /probe would have given.
		var debug bytes.Buffer
		if err := WriteDebug(&debug, r, ""); err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(debug.String(), "\n== Metrics that a scrape would have returned\n"+got.String()) {
			t.Errorf("%s: debug=true does not end with /probe's answer:\n%s", target, debug.String())
		}
	}
}
