package web

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/deliverability-exporter/deliverability_exporter/collector"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
)

// internalService stands for a service on the exporter's own host that
// must not be reachable through it: it listens on 127.0.0.1 and, when this
// machine has IPv6 loopback, on [::1] at the same port, counts the
// connections it accepts and greets each with its banner.
type internalService struct {
	port     int
	hasIPv6  bool
	accepted atomic.Int32
}

func startInternalService(t *testing.T, banner string) *internalService {
	t.Helper()
	s := &internalService{}
	var lns []net.Listener
	for range 20 {
		ln4, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln4.Addr().(*net.TCPAddr).Port
		ln6, err := net.Listen("tcp6", net.JoinHostPort("::1", strconv.Itoa(port)))
		if err != nil {
			probe, probeErr := net.Listen("tcp6", "[::1]:0")
			if probeErr != nil {
				lns = []net.Listener{ln4} // no IPv6 loopback here
				s.port = port
				break
			}
			probe.Close()
			ln4.Close() // the port is taken on ::1; try another
			continue
		}
		lns, s.port, s.hasIPv6 = []net.Listener{ln4, ln6}, port, true
		break
	}
	if len(lns) == 0 {
		t.Fatal("no port free on both 127.0.0.1 and ::1")
	}
	var wg sync.WaitGroup
	for _, ln := range lns {
		wg.Go(func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				s.accepted.Add(1)
				_, _ = c.Write([]byte(banner))
				c.Close()
			}
		})
	}
	t.Cleanup(func() {
		for _, ln := range lns {
			ln.Close()
		}
		wg.Wait()
	})
	return s
}

// readmeDenyList is what the README recommended before loopback was closed
// by default, plus loopback: a deny list the unspecified and IPv4-mapped
// forms used to get past.
const readmeDenyList = `    allowed_networks: [0.0.0.0/0, "::/0"]
    denied_networks: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 127.0.0.0/8, 169.254.0.0/16, fc00::/7, fe80::/10, "::1/128"]
`

// loopbackForms are the ways of writing an address that reaches this host.
var loopbackForms = []string{"127.0.0.1", "0.0.0.0", "::ffff:127.0.0.1", "::ffff:0.0.0.0", "::", "::1"}

// Issue 17 finding 2: no form of a loopback, private or link-local address
// is dialled, whether it is the target, an address of an MX host or of the
// MTA-STS policy host, by a module that does not open it, with or without
// a deny list.
func TestSSRFClosedByDefault(t *testing.T) {
	svc := startInternalService(t, "220 internal.test ESMTP\r\n")
	// One domain per address, its MX host and its MTA-STS policy host both
	// resolving to it: loopback in every form, and addresses of private,
	// shared, link-local and metadata networks nothing here listens on.
	addrs := append(append([]string(nil), loopbackForms...), "10.0.0.1", "169.254.169.254", "100.64.0.1", "fd00:ec2::254", "fe80::1")
	var zone strings.Builder
	for i, addr := range addrs {
		rr := "A"
		if strings.Contains(addr, ":") {
			rr = "AAAA"
		}
		fmt.Fprintf(&zone, "d%[1]d.ssrf.test. IN MX 10 mx.d%[1]d.ssrf.test.\nmx.d%[1]d.ssrf.test. IN %[2]s %[3]s\n", i, rr, addr)
		fmt.Fprintf(&zone, "_mta-sts.d%[1]d.ssrf.test. IN TXT \"v=STSv1; id=20260101\"\nmta-sts.d%[1]d.ssrf.test. IN %[2]s %[3]s\n", i, rr, addr)
	}
	dnsSrv := testbed.StartDNS(t, zone.String())
	blocks := fmt.Sprintf("    smtp: {port: %d, ehlo_name: probe.example.test}\n    mtasts: {https_port: %d}\n", svc.port, svc.port)
	for name, policy := range map[string]string{"default": "", "readme_deny_list": readmeDenyList} {
		t.Run(name, func(t *testing.T) {
			cfg := mustParse(t, fmt.Sprintf("modules:\n  mail:\n    timeout: 10s\n    resolvers: [%q]\n%s%s", dnsSrv.Addr, policy, blocks))
			h, _ := newHandler(cfg)
			for _, f := range loopbackForms {
				target := net.JoinHostPort(f, strconv.Itoa(svc.port))
				res := probe(t, h, "target="+target+"&debug=true", nil)
				if res.code != http.StatusOK || !strings.Contains(res.body, "not probed") {
					t.Errorf("target %s: %d, want a report saying it was not probed:\n%s", target, res.code, res.body)
				}
			}
			for i, addr := range addrs {
				domain := fmt.Sprintf("d%d.ssrf.test", i)
				res := probe(t, h, "target="+domain+"&debug=true", nil)
				if res.code != http.StatusOK {
					t.Fatalf("%s: %d %s", domain, res.code, res.body)
				}
				for _, want := range []string{
					fmt.Sprintf("mx.%s %s: not probed: %s", domain, net.JoinHostPort(addr, strconv.Itoa(svc.port)), addr),
					fmt.Sprintf("the policy host mta-sts.%s was not contacted: %s", domain, addr),
				} {
					if !strings.Contains(res.body, want) {
						t.Errorf("%s (MX and policy host at %s): the report lacks %q:\n%s", domain, addr, want, res.body)
					}
				}
			}
			if n := svc.accepted.Load(); n != 0 {
				t.Errorf("%d connections reached the service on loopback", n)
			}
		})
	}
}

// A module that names loopback in allowed_networks reaches it, whatever
// form the address takes; so a test world or a lab keeps working.
func TestSSRFOpenedExplicitly(t *testing.T) {
	svc := startInternalService(t, "554 internal.test no service\r\n")
	cfg := mustParse(t, "modules:\n  mail:\n    timeout: 10s\n    allowed_networks: [127.0.0.0/8, \"::1/128\"]\n    smtp: {ehlo_name: probe.example.test}\n")
	h, _ := newHandler(cfg)
	forms := []string{"127.0.0.1", "0.0.0.0", "::ffff:127.0.0.1"}
	if svc.hasIPv6 {
		forms = append(forms, "::1", "::")
	}
	for _, f := range forms {
		res := probe(t, h, "target="+net.JoinHostPort(f, strconv.Itoa(svc.port))+"&debug=true", nil)
		if res.code != http.StatusOK || !strings.Contains(res.body, "554") {
			t.Errorf("%s: %d, want the 554 greeting in the report:\n%s", f, res.code, res.body)
		}
	}
	if n := int(svc.accepted.Load()); n != len(forms) {
		t.Errorf("%d connections for %d targets", n, len(forms))
	}
}

// A service that is not an SMTP server (a Redis that answers with a secret
// in its error) is described by the shape of what it sent, never quoted:
// not in the metrics, the debug report, the HTML report of the history, nor
// the logs.
func TestNonSMTPBannerNeverEchoed(t *testing.T) {
	const secret = "s3cr3t-6f1d"
	svc := startInternalService(t, "-NOAUTH Authentication required. secret_token="+secret+"\r\n")
	cfg := mustParse(t, "modules:\n  mail:\n    timeout: 10s\n    allowed_networks: [127.0.0.0/8]\n    smtp: {ehlo_name: probe.example.test}\n")
	var logs bytes.Buffer
	var logMu sync.Mutex
	logger := log.NewLogfmtLogger(log.NewSyncWriter(lockedWriter{&logs, &logMu}))
	history := NewHistory(10)
	h := &ProbeHandler{
		Modules: func() *collector.Modules { return cfg },
		Logger:  level.NewFilter(logger, level.AllowDebug()),
		Metrics: NewSelfMetrics(prometheus.NewRegistry()),
		History: history,
	}
	target := "target=127.0.0.1:" + strconv.Itoa(svc.port)
	outputs := map[string]string{}
	outputs["metrics"] = probe(t, h, target, nil).body
	debug := probe(t, h, target+"&debug=true", nil)
	outputs["debug report"] = debug.body
	ui := &WebUI{Modules: h.Modules, ConfigSource: func() string { return "test" }, History: history, Probe: h}
	for _, e := range history.Recent() {
		rec := httptest.NewRecorder()
		ui.Report(rec, httptest.NewRequest(http.MethodGet, "/report?id="+strconv.FormatUint(e.ID, 10), nil))
		outputs[fmt.Sprintf("history report %d", e.ID)] = rec.Body.String()
	}
	rec := httptest.NewRecorder()
	ui.Landing(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	outputs["landing page"] = rec.Body.String()
	logMu.Lock()
	outputs["logs"] = logs.String()
	logMu.Unlock()

	if svc.accepted.Load() == 0 {
		t.Fatal("the service was never connected to; the test proves nothing")
	}
	if !strings.Contains(debug.body, "starting with punctuation") {
		t.Errorf("the debug report does not describe what the service sent:\n%s", debug.body)
	}
	for what, out := range outputs {
		for _, word := range []string{secret, "NOAUTH", "secret_token", "Authentication required"} {
			if strings.Contains(out, word) {
				t.Errorf("%s repeats %q from the service's banner:\n%s", what, word, out)
			}
		}
	}
}

type lockedWriter struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
