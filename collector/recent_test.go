package collector

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// fleetResult is a result as a domain on a shared platform has it: the
// same servers, the same text, and its own name in one reason.
func fleetResult(domain string) *probes.Result {
	res := probes.NewResult("smtp")
	spec := &probes.MetricSpec{Name: "mail_smtp_up", Labels: []string{"mx", "ip"}}
	for i := range 10 {
		mx, ip := fmt.Sprintf("mx%d.platform.example", i), fmt.Sprintf("192.0.2.%d", i)
		res.Measure(spec, 1, mx, ip)
		res.Pass(probes.CheckSpec{ID: fmt.Sprintf("smtp.check%d", i), Level: probes.LevelMust},
			strings.Repeat("the platform's servers all answer ", 4), mx+" "+ip+":25: 220 "+mx+" ESMTP")
	}
	res.Note("%s receives mail at the platform", domain)
	return res
}

// TestRecentResultsAreBoundedInBytes: the results min_interval keeps are
// bounded in bytes as well as in number (the oldest stored go first), and
// a kept result shares its text with the other domains' on one platform.
func TestRecentResultsAreBoundedInBytes(t *testing.T) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	probe := fleetResult("a.example")
	size := int64(probe.Compact())
	if size <= 0 {
		t.Fatalf("Compact reports %d bytes", size)
	}
	r := newRecentResults(1000, 10*size)
	for i := range 50 {
		r.put(fmt.Sprintf("key%02d", i), fleetResult(fmt.Sprintf("d%d.example", i)), time.Second, now)
		if r.Bytes() > 10*size {
			t.Fatalf("after %d results, %d bytes kept, bound %d", i+1, r.Bytes(), 10*size)
		}
	}
	if n := r.Len(); n < 5 || n > 10 {
		t.Errorf("%d results kept within %d bytes of results of about %d", n, 10*size, size)
	}
	if _, ok := r.get("key49", time.Hour, now); !ok {
		t.Error("the result stored last was evicted")
	}
	if _, ok := r.get("key00", time.Hour, now); ok {
		t.Error("the result stored first was kept beyond the bound")
	}

	// The kept results' text is one copy for the platform.
	a, _ := r.get("key48", time.Hour, now)
	b, _ := r.get("key49", time.Hour, now)
	ca, _ := a.result.Check("smtp.check3")
	cb, _ := b.result.Check("smtp.check3")
	if ca.Reason != cb.Reason || !sameString(ca.Reason, cb.Reason) || !sameString(ca.Evidence[0], cb.Evidence[0]) {
		t.Error("two domains' identical reasons and evidence are held twice")
	}
}

// sameString reports whether a and b share their bytes.
func sameString(a, b string) bool {
	return len(a) > 0 && len(a) == len(b) && unsafeData(a) == unsafeData(b)
}

func unsafeData(s string) *byte { return unsafe.StringData(s) }

// TestRecentResultIsDueAtTheNextScrape: with Prometheus scraping as often
// as the min_interval, every scrape runs the probe. The scrape after a
// run comes an interval after the run started, a little early or late,
// and the result finished later than that by the run's duration: served
// again, it would make every other scrape a repeat.
func TestRecentResultIsDueAtTheNextScrape(t *testing.T) {
	const interval = 5 * time.Minute
	started := time.Date(2026, 12, 3, 6, 0, 0, 0, time.UTC)
	took := 3 * time.Second
	r := newRecentResults(10, 1<<20)
	r.put("k", fleetResult("a.example"), took, started.Add(took))

	for _, after := range []time.Duration{time.Minute, 4 * time.Minute} {
		if _, ok := r.get("k", interval, started.Add(after)); !ok {
			t.Errorf("a scrape %v after the run started ran the probe again within its min_interval of %v", after, interval)
		}
	}
	for _, after := range []time.Duration{interval - 50*time.Millisecond, interval, interval + 50*time.Millisecond} {
		if _, ok := r.get("k", interval, started.Add(after)); ok {
			t.Errorf("the scrape %v after the run started was served the result of the scrape before", after)
		}
	}
}
