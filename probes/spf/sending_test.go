package spf

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/miekg/dns"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/sending"
)

// sendingEnv is a request's environment whose facts layer has the spf
// block's providers, as the engine builds it for a module with spf.
func sendingEnv(t *testing.T, addr string) *probes.Env {
	t.Helper()
	providers := Registration.Provides(DefaultConfig(), probes.Setup{})
	return &probes.Env{DNS: newResolver(t, addr), Facts: probes.NewFacts(providers), Now: time.Now, Logger: log.NewNopLogger()}
}

func request(t *testing.T, target string) *probes.Request {
	t.Helper()
	tgt, err := probes.ParseTarget(target)
	if err != nil {
		t.Fatal(err)
	}
	return &probes.Request{Target: tgt}
}

// The sending fact: exactly the domains whose one valid SPF record ends in
// -all with nothing before it that authorises a client declare that they
// send no mail.
func TestSendingDeclaration(t *testing.T) {
	srv := testbed.StartDNS(t, world)
	srv.SetBehaviour("broken.servfail.test", testbed.ServFail)
	for _, tc := range []struct {
		target string
		noMail bool
		why    string
	}{
		{"nullok.test", true, `its SPF record "v=spf1 -all" authorises no client`},
		{"receiveonly.test", true, `its SPF record "v=spf1 -all" authorises no client`},
		// mx under a null MX and a: of a name that does not exist match
		// nothing; a -ip4 term authorises nobody.
		{"nullmxterm.test", true, `its SPF record "v=spf1 mx -all" ends in -all and its other terms match no client`},
		{"failonly.test", true, "ends in -all and its other terms match no client"},
		{"nullmx.test", false, "ends in ~all, not -all"},
		{"healthy.test", false, "authorises clients"},
		{"ptr.test", false, "depend on the client"},
		{"void.test", false, "authorises clients"},
		{"voidv6.test", false, "authorises clients"},
		{"two.test", false, "publishes 2 SPF records"},
		{"nothing.test", false, "publishes no SPF record"},
		{"absent.test", false, "publishes no SPF record"},
		{"syntax.test", false, "is not valid (permerror)"},
		{"mx1.healthy.test:25", false, "the target is not a mail domain"},
	} {
		t.Run(tc.target, func(t *testing.T) {
			d, err := sending.Of(context.Background(), request(t, tc.target), sendingEnv(t, srv.Addr))
			if err != nil {
				t.Fatal(err)
			}
			if d.NoMail != tc.noMail || !strings.Contains(d.Why, tc.why) {
				t.Errorf("NoMail %v (%s), want %v (%s)", d.NoMail, d.Why, tc.noMail, tc.why)
			}
			if reason := d.SkipReason(); (reason != "") != tc.noMail || tc.noMail && !strings.Contains(reason, d.Domain+" sends no mail") {
				t.Errorf("skip reason %q", reason)
			}
		})
	}

	// A tree that could not be fetched: unknown, not "it sends".
	_, err := sending.Of(context.Background(), request(t, "servfail.test"), sendingEnv(t, srv.Addr))
	if err == nil || !strings.Contains(err.Error(), "SERVFAIL") {
		t.Errorf("a SERVFAIL in the tree: err = %v", err)
	}
	// A module without an spf probe does not provide it.
	env := sendingEnv(t, srv.Addr)
	env.Facts = probes.NewFacts(nil)
	if _, err := sending.Of(context.Background(), request(t, "nullok.test"), env); !errors.Is(err, probes.ErrNotProvided) {
		t.Errorf("without an spf probe: err = %v", err)
	}
}

// The probe and the fact read one tree: the record is asked once per
// request, whichever asks first, and they agree.
func TestSendingSharesTheProbesTree(t *testing.T) {
	srv := testbed.StartDNS(t, world)
	env := sendingEnv(t, srv.Addr)
	req := request(t, "nullok.test")
	d, err := sending.Of(context.Background(), req, env)
	if err != nil || !d.NoMail {
		t.Fatalf("%+v, %v", d, err)
	}
	res := New(DefaultConfig()).Run(context.Background(), req, env)
	if c, _ := res.Check("spf.all_policy"); c.Status != probes.StatusPass || !strings.Contains(c.Reason, "sends no mail") {
		t.Errorf("spf.all_policy %s: %s", c.Status, c.Reason)
	}
	txt := 0
	for _, q := range srv.Queries() {
		if q.Name == "nullok.test." && q.Type == dns.TypeTXT {
			txt++
		}
	}
	if txt != 1 {
		t.Errorf("the record was asked %d times", txt)
	}
	// The request's resolver sends a question once however often it is
	// asked, so the count above holds even if the tree were fetched and
	// audited twice; a second walk would be answered from the request's
	// cache. Nothing else in this request asks a question twice.
	if st := env.DNS.Stats(); st.CacheHits != 0 {
		t.Errorf("%d questions answered from the request cache: the tree was walked more than once", st.CacheHits)
	}
}
