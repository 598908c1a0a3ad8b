package e2e

import (
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/internal/e2e/assets"
)

// Host numbers of the fleet's replicas and their Prometheus.
const (
	hostReplica0  = 76
	hostReplica1  = 77
	hostFleetProm = 91
)

// fleetDomains are the replicas' targets file: the world's domains and ten
// more names (that do not resolve: their probes fail, their scrapes do
// not), so that both replicas get a share.
func fleetDomains() []string {
	out := []string{goodDomain, brokenDomain, listedDomain, bogusDomain, downDomain}
	for i := range 10 {
		out = append(out, fmt.Sprintf("fleet%02d.e2e.test", i))
	}
	return out
}

// hashmod is Prometheus' hashmod relabeling of one source label: the last
// 8 bytes of the MD5 of its value, modulo n.
func hashmod(value string, n uint64) uint64 {
	sum := md5.Sum([]byte(value))
	return binary.BigEndian.Uint64(sum[8:]) % n
}

// checkFleet runs examples/fleet/prometheus.yml: two replicas of the
// exporter serving one targets file at /sd, one Prometheus sharding the
// domains over them with hashmod. Every domain is probed, by exactly one
// replica, the one its hash names, and that replica alone has probed it.
func checkFleet(t *testing.T, w *world, resolver string, wired map[string]bool) {
	bin := filepath.Join(w.dir, "exporter", "deliverability_exporter")
	domains := fleetDomains()
	var fleet strings.Builder
	for _, d := range domains {
		fleet.WriteString(d)
		if d == goodDomain {
			fleet.WriteString(" dkim_selector=" + goodSelector)
		}
		fleet.WriteString("\n")
	}
	var replicas []string
	for i, host := range []int{hostReplica0, hostReplica1} {
		replicas = append(replicas, w.runExporter(t, fmt.Sprintf("replica%d", i), bin, host, resolver, wired,
			"targets_file: fleet.txt\n", "    min_interval: {smtp: 5m, mtasts: 5m, dnsbl: 5m}\n",
			[2]string{"fleet.txt", fleet.String()}))
	}

	data, err := os.ReadFile(repoPath("examples", "fleet", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(data)
	for _, r := range []struct {
		old, new string
		n        int
	}{
		{"deliverability-exporter-0:10075", replicas[0], 3}, // its /sd, its share, its own metrics
		{"deliverability-exporter-1:10075", replicas[1], 3},
		{"  scrape_interval: 1m\n", "  scrape_interval: 2s\n", 1},
		{"  evaluation_interval: 1m\n", "  evaluation_interval: 1s\n", 1},
		{"    scrape_interval: 5m ", "    scrape_interval: 2s ", 1},
		{"    scrape_timeout: 60s ", "    scrape_timeout: 2s  ", 1},
		{"        refresh_interval: 5m\n", "        refresh_interval: 2s\n", 2},
	} {
		if got := strings.Count(cfg, r.old); got != r.n {
			t.Fatalf("examples/fleet/prometheus.yml has %q %d times, the suite expects %d: adjust checkFleet", r.old, got, r.n)
		}
		cfg = strings.ReplaceAll(cfg, r.old, r.new)
	}
	dir := filepath.Join(w.dir, "fleet-prometheus")
	cfgFile := filepath.Join(dir, "examples", "fleet", "prometheus.yml")
	writeFile(t, cfgFile, []byte(cfg), 0o644)
	rules, err := assets.RuleFiles()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rules {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "alerts", filepath.Base(f)), data, 0o644)
	}
	run(t, dir, nil, "promtool", "check", "config", cfgFile)
	addr := w.addr(hostFleetProm, 9090)
	d := startDaemon(t, dir, "prometheus", "prometheus", "--config.file="+cfgFile,
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr, "--log.level=warn")
	waitFor(t, 30*time.Second, "the fleet's Prometheus", func() error { return httpOK("http://" + addr + "/-/ready") }, d)
	prom := &promClient{base: "http://" + addr, daemon: d}

	// Every domain scraped twice: discovered from /sd and sharded.
	waitFor(t, 90*time.Second, "two scrapes of every domain of the fleet", func() error {
		got, err := prom.query(`count_over_time(up{job="mail"}[1m])`)
		if err != nil {
			return err
		}
		counts := map[string]float64{}
		for _, s := range got {
			counts[s.Labels["instance"]] += s.Value
		}
		for _, dom := range domains {
			if counts[dom] < 2 {
				return fmt.Errorf("%s scraped %v times: %v", dom, counts[dom], got)
			}
		}
		return nil
	}, d)

	// Prometheus' side: one series per domain, from the replica its hash
	// names.
	series := prom.mustQuery(t, `count by (instance, replica, job) (count_over_time(probe_success{job="mail"}[5m]))`)
	byDomain := map[string][]string{}
	for _, s := range series {
		byDomain[s.Labels["instance"]] = append(byDomain[s.Labels["instance"]], s.Labels["replica"])
	}
	share := map[string][]string{}
	for _, dom := range domains {
		want := fmt.Sprint(hashmod(dom, 2))
		share[want] = append(share[want], dom)
		if got := byDomain[dom]; len(got) != 1 || got[0] != want {
			t.Errorf("%s probed by replicas %v, want exactly replica %s (its hashmod)", dom, got, want)
		}
		delete(byDomain, dom)
	}
	if len(byDomain) > 0 {
		t.Errorf("domains probed that the targets file does not list: %v", byDomain)
	}
	if len(share["0"]) == 0 || len(share["1"]) == 0 {
		t.Fatalf("the hash gives every domain to one replica (%v): the test shows nothing about sharding", share)
	}

	// The replicas' side: each has probed exactly its share, and each
	// serves the whole list.
	for i, r := range replicas {
		probed := recentTargets(t, r)
		want := share[fmt.Sprint(i)]
		sort.Strings(want)
		if !slices.Equal(probed, want) {
			t.Errorf("replica %d probed %v, want its share %v", i, probed, want)
		}
		sd := get(t, "http://"+r+"/sd")
		for _, dom := range domains {
			if !strings.Contains(sd, `"`+dom+`"`) {
				t.Errorf("replica %d's /sd does not list %s:\n%s", i, dom, sd)
			}
		}
	}
	t.Logf("the fleet's shares: replica 0 %v, replica 1 %v", share["0"], share["1"])
}

var recentRow = regexp.MustCompile(`<td class="target">([^<]+)</td><td>mail</td>`)

// recentTargets are the distinct targets of a replica's recent probes, as
// its landing page lists them.
func recentTargets(t *testing.T, exporter string) []string {
	t.Helper()
	seen := map[string]bool{}
	page := get(t, "http://"+exporter+"/")
	for _, m := range recentRow.FindAllStringSubmatch(page, -1) {
		seen[m[1]] = true
	}
	if len(seen) == 0 {
		t.Errorf("no recent probes found on %s's landing page (has its table changed?):\n%s", exporter, page)
	}
	var out []string
	for d := range seen {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

func get(t *testing.T, u string) string {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s %v", u, resp.Status, err)
	}
	return string(body)
}
