package mtasts_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/mtasts"
	"github.com/deliverability-exporter/deliverability_exporter/probes/smtp"
)

// smtpZone is a domain whose two MX hosts run in-process STARTTLS servers
// on 127.0.0.2 and 127.0.0.3.
const smtpZone = `
$ORIGIN smtpmx.test.
@         IN MX  10 mx1
@         IN MX  20 mx2
mx1       IN A   127.0.0.2
mx2       IN A   127.0.0.3
_mta-sts  IN TXT "v=STSv1; id=20261121"
mta-sts   IN A   127.0.0.1
`

const smtpPolicy = "version: STSv1\nmode: enforce\nmx: *.smtpmx.test\nmax_age: 604800\n"

func TestEnforceChecksMXCertificates(t *testing.T) {
	good := func(host string) testbed.SMTPBehaviour {
		return testbed.SMTPBehaviour{Hostname: host, Certificate: certFor(t, host)}
	}
	for _, tc := range []struct {
		name string
		mx2  func(port int) testbed.SMTPBehaviour
		expect
	}{
		{
			name: "both certificates valid",
			mx2:  func(int) testbed.SMTPBehaviour { return good("mx2.smtpmx.test") },
			expect: expect{
				checks:   statuses(pass, "mtasts.id_changed", skip),
				reasons:  map[string]string{"mtasts.mx_match": "2 MX hosts match the policy's mx patterns (mx: *.smtpmx.test) and present certificates valid for their names"},
				evidence: map[string]string{"mtasts.mx_match": "mx2.smtpmx.test 127.0.0.3:"},
			},
		},
		{
			name: "a certificate for another name",
			mx2: func(int) testbed.SMTPBehaviour {
				return testbed.SMTPBehaviour{Hostname: "mx2.smtpmx.test", Certificate: certFor(t, "mx.other.test")}
			},
			expect: expect{
				checks: statuses(pass, "mtasts.mx_match", fail, "mtasts.id_changed", skip),
				reasons: map[string]string{
					"mtasts.mx_match": "presents a certificate that senders enforcing the policy reject: x509: certificate is valid for mx.other.test, not mx2.smtpmx.test",
				},
				remediations: map[string]string{"mtasts.mx_match": "give each MX host a certificate for its own name from a CA senders trust"},
				evidence:     map[string]string{"mtasts.mx_match": "certificate valid for mx1.smtpmx.test until"},
			},
		},
		{
			name: "an expired certificate",
			mx2: func(int) testbed.SMTPBehaviour {
				return testbed.SMTPBehaviour{Hostname: "mx2.smtpmx.test", Certificate: mint(t, testbed.CertOptions{
					DNSNames: []string{"mx2.smtpmx.test"}, NotBefore: expiredFrom, NotAfter: expiredUntil})}
			},
			expect: expect{
				checks:  statuses(pass, "mtasts.mx_match", fail, "mtasts.id_changed", skip),
				reasons: map[string]string{"mtasts.mx_match": "x509: certificate has expired"},
			},
		},
		{
			name: "no STARTTLS",
			mx2:  func(int) testbed.SMTPBehaviour { return testbed.SMTPBehaviour{Hostname: "mx2.smtpmx.test"} },
			expect: expect{
				checks:  statuses(pass, "mtasts.mx_match", fail, "mtasts.id_changed", skip),
				reasons: map[string]string{"mtasts.mx_match": "does not offer STARTTLS: senders enforcing the policy do not deliver there"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, smtpZone)
			w.policy("smtpmx.test", smtpPolicy)
			servers := testbed.StartSMTPGroup(t, []string{"127.0.0.2", "127.0.0.3"}, func(ip string) testbed.SMTPBehaviour {
				if ip == "127.0.0.2" {
					return good("mx1.smtpmx.test")
				}
				return tc.mx2(0)
			})
			smtpCfg := smtp.DefaultConfig()
			smtpCfg.Session.Port = servers[0].Port()
			smtpCfg.Session.EHLOName = "probe.exporter.test"

			// The smtp probe and this one run side by side in one request,
			// as the collector runs them.
			env := withSMTP(w.env(), &smtpCfg)
			tgt, _ := probes.ParseTarget("smtpmx.test")
			req := &probes.Request{Target: tgt}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var res *probes.Result
			var wg sync.WaitGroup
			wg.Go(func() { smtp.New(smtpCfg).Run(ctx, req, env) })
			wg.Go(func() { res = mtasts.New(w.cfg(), nil).Run(ctx, req, env) })
			wg.Wait()
			checkInvariants(t, res)
			tc.assert(t, res)
			// Nothing connected twice: the certificates came from the smtp
			// probe's conversations.
			for _, s := range servers {
				if n := s.Connections(); n != 1 {
					t.Errorf("%s: %d connections, want 1", s.Addr, n)
				}
			}
		})
	}
}

func TestTestingModeLeavesTheSMTPServersAlone(t *testing.T) {
	// Only enforce mode asks for the certificates: a testing-mode policy
	// run without the smtp probe makes no SMTP connection. Its patterns
	// are matched all the same.
	w := newWorld(t, smtpZone)
	w.policy("smtpmx.test", "version: STSv1\nmode: testing\nmx: *.smtpmx.test\nmax_age: 604800\n")
	servers := testbed.StartSMTPGroup(t, []string{"127.0.0.2", "127.0.0.3"}, func(ip string) testbed.SMTPBehaviour {
		return testbed.SMTPBehaviour{Hostname: "mx.smtpmx.test"}
	})
	smtpCfg := smtp.DefaultConfig()
	smtpCfg.Session.Port = servers[0].Port()
	res := w.run("smtpmx.test", w.cfg(), &smtpCfg, nil)
	expect{
		checks:  statuses(pass, "mtasts.mode", fail, "mtasts.id_changed", skip),
		reasons: map[string]string{"mtasts.mx_match": "2 MX hosts match the policy's mx patterns (mx: *.smtpmx.test); mode testing: under enforce none of them would be left out"},
	}.assert(t, res)
	for _, s := range servers {
		if n := s.Connections(); n != 0 {
			t.Errorf("%s: %d connections, want none", s.Addr, n)
		}
	}
}

func TestEnforceWithoutSMTPProbeSaysHowToAddIt(t *testing.T) {
	w := newWorld(t, smtpZone)
	w.policy("smtpmx.test", smtpPolicy)
	res := w.run("smtpmx.test", w.cfg(), nil, nil)
	expect{
		checks:  statuses(pass, "mtasts.id_changed", skip),
		reasons: map[string]string{"mtasts.mx_match": `certificates not checked: the module has no smtp: block (add "smtp: {}" to it`},
	}.assert(t, res)
	found := false
	for _, n := range res.Notes() {
		found = found || n == `MTA-STS enforce mode: the MX certificates were not checked, as the module does not run the smtp probe; add "smtp: {}" to the module`
	}
	if !found {
		t.Errorf("notes %q, want the one saying how to add the smtp probe", res.Notes())
	}
}

func TestEnforceWithAnMXDown(t *testing.T) {
	// mx2 accepts no connection: there is no certificate to judge, which
	// smtp.reachable reports; the match itself still passes and says so.
	w := newWorld(t, smtpZone)
	w.policy("smtpmx.test", smtpPolicy)
	srv := testbed.StartSMTP(t, "127.0.0.2:0", testbed.SMTPBehaviour{Hostname: "mx1.smtpmx.test", Certificate: certFor(t, "mx1.smtpmx.test")})
	smtpCfg := smtp.DefaultConfig()
	smtpCfg.Session.Port = srv.Port()
	res := w.run("smtpmx.test", w.cfg(), &smtpCfg, nil)
	expect{
		checks:   statuses(pass, "mtasts.id_changed", skip),
		reasons:  map[string]string{"mtasts.mx_match": "; 1 certificate valid, 1 address without a TLS handshake to judge (smtp.reachable and smtp.starttls say why)"},
		evidence: map[string]string{"mtasts.mx_match": "mx2.smtpmx.test 127.0.0.3:"},
	}.assert(t, res)
}
