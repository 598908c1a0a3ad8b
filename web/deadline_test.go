package web

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/deliverability-exporter/deliverability_exporter/collector"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
)

// hostileWorld is a world whose domains do what slows a probe down: mail
// servers that never greet, greet a byte a second, or drip their EHLO
// reply; an MTA-STS policy host that accepts the connection and never
// answers the TLS handshake; and a domain whose questions the resolver
// never answers.
func hostileWorld(t *testing.T) (resolver string, smtpPort int) {
	t.Helper()
	behaviours := map[string]testbed.Hostile{"127.0.0.7": testbed.NeverGreet, "127.0.0.8": testbed.DripGreeting, "127.0.0.9": testbed.DripEHLO}
	servers := testbed.StartSMTPGroup(t, []string{"127.0.0.7", "127.0.0.8", "127.0.0.9"}, func(ip string) testbed.SMTPBehaviour {
		return testbed.SMTPBehaviour{Hostname: "mx.hostile.test", Hostile: behaviours[ip]}
	})
	dnsSrv := testbed.StartDNS(t, `$ORIGIN hostile.test.
tarpit IN MX 10 mx.tarpit
mx.tarpit IN A 127.0.0.7
_mta-sts.tarpit IN TXT "v=STSv1; id=1"
mta-sts.tarpit IN A 127.0.0.7
drip IN MX 10 mx.drip
mx.drip IN A 127.0.0.8
dripehlo IN MX 10 mx.dripehlo
mx.dripehlo IN A 127.0.0.9
silent IN MX 10 mx.silent
`)
	dnsSrv.SetBehaviour("silent.hostile.test", testbed.Drop)
	dnsSrv.SetBehaviour("mx.silent.hostile.test", testbed.Drop)
	return dnsSrv.Addr, servers[0].Port()
}

// Issue 17 finding 6: under a tarpit load the answers came after the
// scrape timeout (p50 16.4s for 15s), and Prometheus lost them all. Many
// requests at once for hostile domains, each with a scrape timeout in its
// header: every answer arrives, with what was decided by then, before the
// client's own timeout (the scrape timeout, as Prometheus') fires. The
// exporter aims at the scrape timeout minus --timeout-offset; the offset is
// the room left for a loaded machine's scheduling.
func TestAnswersArriveBeforeTheScrapeTimeout(t *testing.T) {
	resolver, port := hostileWorld(t)
	cfg := mustParse(t, fmt.Sprintf(`modules:
  mail:
    timeout: 60s
    resolvers: [%q]
    dns_query_timeout: 5s
    allowed_networks: [127.0.0.0/8]
    mx: {srv_services: []}
    spf: {}
    smtp: {port: %d, ehlo_name: probe.example.test}
    mtasts: {https_port: %d}
`, resolver, port, port))
	const scrapeTimeout, offset = 3 * time.Second, time.Second
	h := &ProbeHandler{Modules: func() *collector.Modules { return cfg }, Logger: log.NewNopLogger(),
		TimeoutOffset: offset, Metrics: NewSelfMetrics(prometheus.NewRegistry())}
	srv := httptest.NewServer(h)
	defer srv.Close()

	const requests = 48
	client := &http.Client{Timeout: scrapeTimeout, Transport: &http.Transport{MaxConnsPerHost: requests}}
	defer client.CloseIdleConnections()
	targets := []string{"tarpit.hostile.test", "drip.hostile.test", "dripehlo.hostile.test", "silent.hostile.test"}
	var wg sync.WaitGroup
	errs := make([]error, requests)
	for i := range requests {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/probe?target="+targets[i%len(targets)], nil)
			req.Header.Set(ScrapeTimeoutHeader, fmt.Sprint(scrapeTimeout.Seconds()))
			resp, err := client.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			switch {
			case err != nil:
				errs[i] = err
			case resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "probe_success 0"):
				errs[i] = fmt.Errorf("%d:\n%s", resp.StatusCode, body)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			t.Errorf("request %d (%s): no answer before the client gave up: %v", i, targets[i%len(targets)], err)
		case err != nil:
			t.Errorf("request %d (%s): %v", i, targets[i%len(targets)], err)
		}
	}
}

// The server's write timeout is for pages; a probe's answer may be
// written until a while after its own deadline, whatever the module's
// timeout.
func TestProbeAnswerOutlivesTheServersWriteTimeout(t *testing.T) {
	resolver, _ := hostileWorld(t)
	cfg := mustParse(t, fmt.Sprintf("modules:\n  mail:\n    timeout: 1s\n    resolvers: [%q]\n    dns_query_timeout: 300ms\n    mx: {srv_services: []}\n", resolver))
	h, _ := newHandler(cfg)
	srv := httptest.NewUnstartedServer(h)
	srv.Config.WriteTimeout = 100 * time.Millisecond
	srv.Start()
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/probe?target=silent.hostile.test")
	if err != nil {
		t.Fatalf("a probe longer than the server's write timeout lost its answer: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "probe_success 0") {
		t.Errorf("%d %v:\n%s", resp.StatusCode, err, body)
	}
}
