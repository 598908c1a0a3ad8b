package smtp_test

import (
	"context"
	"crypto/x509"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/deliverability-exporter/deliverability_exporter/internal/probetest"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
	"github.com/deliverability-exporter/deliverability_exporter/probes/smtp"
)

// TestPostfix probes a real Postfix set up by
// internal/testbed/postfix/postfix-test.sh; it is skipped unless
// SMTP_POSTFIX_ADDR names the instance.
func TestPostfix(t *testing.T) {
	addr := os.Getenv("SMTP_POSTFIX_ADDR")
	if addr == "" {
		t.Skip("SMTP_POSTFIX_ADDR is not set (see internal/testbed/postfix/README.md)")
	}
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(portText)
	name := os.Getenv("SMTP_POSTFIX_NAME")
	pemData, err := os.ReadFile(os.Getenv("SMTP_POSTFIX_CA"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pemData) {
		t.Fatal("no certificate in SMTP_POSTFIX_CA")
	}
	domain := name[len("mx."):]
	srv := testbed.StartDNS(t, "$ORIGIN "+domain+".\n@ 3600 IN MX 10 "+name+".\n"+name+". 3600 IN A "+host+"\n")
	client, err := dnsclient.New(dnsclient.Config{Servers: []string{srv.Addr}, Timeout: time.Second, Attempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	env := &probes.Env{DNS: client.NewResolver(), Dialer: probetest.LoopbackDialer(), RootCAs: roots,
		Now: time.Now, Logger: log.NewNopLogger(), Facts: probes.NewFacts(nil)}
	cfg := smtp.DefaultConfig()
	cfg.Session.Port = port
	cfg.Session.EHLOName = "probe.exporter.test"
	cfg.Session.RcptChecks = []string{smtp.RcptPostmaster, smtp.RcptAbuse, smtp.RcptOpenRelay}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res := smtp.New(cfg).Run(ctx, &probes.Request{Target: probes.Target{Kind: probes.KindDomain, Name: domain, Port: 25}}, withSessions(env, cfg))
	for _, d := range res.Details() {
		t.Log(d.Title)
		for _, l := range d.Lines {
			t.Log("  ", l)
		}
	}
	checkInvariants(t, res)
	expect{checks: statuses(pass, "dane.tlsa", fail, "dane.match", skip, "dane.rollover", skip, "smtps.implicit_tls", skip)}.assert(t, res)
}
