package dmarc_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dmarc"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

// TestApplying: the record a receiver applies to a delivered message, as
// the delivery probe borrows it.
func TestApplying(t *testing.T) {
	srv := testbed.StartDNS(t, `
$ORIGIN test.
_dmarc.own              IN TXT "v=DMARC1; p=reject; adkim=s; rua=mailto:d@own.test"
_dmarc.org              IN TXT "v=DMARC1; p=reject; sp=quarantine; aspf=s"
_dmarc.nosp             IN TXT "v=DMARC1; p=reject"
_dmarc.several          IN TXT "v=DMARC1; p=none"
_dmarc.several          IN TXT "v=DMARC1; p=reject"
_dmarc.badp             IN TXT "v=DMARC1; p=Reject"
_dmarc.typo             IN TXT "v=DMARC1; p=quarantaine"
_dmarc.typorua          IN TXT "v=DMARC1; p=quarantaine; rua=mailto:d@typorua.test"
_dmarc.lax              IN TXT "v=DMARC1; p=reject; rf=iodef; fo=x"
_dmarc.discarded.misfit IN TXT "p=none; v=DMARC1"
_dmarc.misfit           IN TXT "v=DMARC1; p=quarantine"
`)
	srv.SetBehaviour("_dmarc.failing.test.", testbed.ServFail)
	client, err := dnsclient.New(dnsclient.Config{Servers: []string{srv.Addr}, Timeout: time.Second, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	for _, tc := range []struct {
		from                 string
		domain, policy       string
		adkim, aspf          string
		unusable, unanswered string
	}{
		{from: "own.test", domain: "own.test", policy: "reject", adkim: "s", aspf: "r"},
		{from: "Own.Test.", domain: "own.test", policy: "reject", adkim: "s", aspf: "r"},
		// A subdomain without a record of its own gets sp=.
		{from: "news.org.test", domain: "org.test", policy: "quarantine", adkim: "r", aspf: "s"},
		{from: "org.test", domain: "org.test", policy: "reject", adkim: "r", aspf: "s"},
		{from: "news.nosp.test", domain: "nosp.test", policy: "reject", adkim: "r", aspf: "r"},
		// Tag values are case-insensitive, and invalid values of other
		// tags are ignored: receivers apply these records.
		{from: "badp.test", domain: "badp.test", policy: "reject", adkim: "r", aspf: "r"},
		{from: "lax.test", domain: "lax.test", policy: "reject", adkim: "r", aspf: "r"},
		// An invalid p= with a report address applies as p=none.
		{from: "typorua.test", domain: "typorua.test", policy: "none", adkim: "r", aspf: "r"},
		// A record receivers discard is passed over for the
		// organizational domain's.
		{from: "discarded.misfit.test", domain: "misfit.test", policy: "quarantine", adkim: "r", aspf: "r"},
		{from: "several.test", unusable: "_dmarc.several.test has 2 DMARC records"},
		{from: "typo.test", unusable: "_dmarc.typo.test: p=quarantaine is not none, quarantine or reject"},
		{from: "none.test"},
		{from: "failing.test", unanswered: "_dmarc.failing.test"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		a, err := dmarc.Applying(ctx, client.NewResolver(), tc.from)
		cancel()
		var re *dmarc.RecordError
		switch {
		case tc.unusable != "":
			if !errors.As(err, &re) || !strings.Contains(re.Reason, tc.unusable) || a != nil {
				t.Errorf("%s: %v, %v; want a record error containing %q", tc.from, a, err, tc.unusable)
			}
		case tc.unanswered != "":
			if err == nil || errors.As(err, &re) || !strings.Contains(err.Error(), tc.unanswered) {
				t.Errorf("%s: %v; want a DNS error naming %s", tc.from, err, tc.unanswered)
			}
		case tc.domain == "":
			if a != nil || err != nil {
				t.Errorf("%s: %+v, %v; want no record", tc.from, a, err)
			}
		case err != nil || a == nil:
			t.Errorf("%s: %v, %v", tc.from, a, err)
		case a.Domain != tc.domain || a.Policy != tc.policy || a.Record.ADKIM != tc.adkim || a.Record.ASPF != tc.aspf:
			t.Errorf("%s: found at %s, policy %s, adkim=%s aspf=%s; want %s, %s, %s, %s",
				tc.from, a.Domain, a.Policy, a.Record.ADKIM, a.Record.ASPF, tc.domain, tc.policy, tc.adkim, tc.aspf)
		}
	}
}
