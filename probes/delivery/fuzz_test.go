package delivery

import (
	"bufio"
	"bytes"
	"net/netip"
	"net/textproto"
	"strings"
	"testing"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// FuzzMessageHeader feeds what a relay can put in a message's header to
// the parts of the verdict that read it without DNS: the From: domain, the
// Received scan, the ARC listing and the receiver's Authentication-Results.
// None may panic, and every line they record stays one line.
func FuzzMessageHeader(f *testing.F) {
	for _, seed := range []string{
		"From: a@example.com\r\nReceived: from x ([10.0.0.1]) by y\r\n\r\nbody\r\n",
		"From: \"A\" <a@example.com>, b@example.org\r\nReceived: from [IPv6:fe80::1] by y\r\nARC-Seal: i=1; a=rsa-sha256; cv=none; d=x; s=y; b=z\r\n\r\n",
		"Authentication-Results: mx.example.com; spf=pass smtp.mailfrom=a.example; dkim=pass header.d=a.example; dmarc=fail\r\n\r\n",
		"Authentication-Results: ;;;\r\nFrom: =?utf-8?q?x?= <@>\r\n\r\n",
		"Received: 192.168.1.1 100.64.0.1 999.1.1.1 [::1] [IPv6:::ffff:127.0.0.1]\r\n\r\n",
		"\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, _ := textproto.NewReader(bufio.NewReader(bytes.NewReader(data))).ReadMIMEHeader()
		if h == nil {
			h = textproto.MIMEHeader{}
		}
		res := probes.NewResult(Name)
		v := &verdict{res: res, header: h, msg: &probes.ReceivedMessage{Data: data, Remote: netip.MustParseAddrPort("192.0.2.1:25")}}
		v.fromDomain, v.fromErr = fromDomain(h)
		if (v.fromDomain == "") == (v.fromErr == nil) {
			t.Fatalf("fromDomain = %q, %v: want a domain or an error", v.fromDomain, v.fromErr)
		}
		v.recordReceived()
		v.recordARC()
		for _, c := range res.Checks() {
			for _, s := range append([]string{c.Reason, c.Remediation}, c.Evidence...) {
				if strings.ContainsAny(s, "\r\n") {
					t.Fatalf("%s: %q is not one line", c.ID, s)
				}
			}
		}
		raw, results := receiverAuthResults(data)
		if strings.ContainsAny(raw, "\r\n") {
			t.Fatalf("Authentication-Results %q is not one line", raw)
		}
		for method, r := range results {
			if resultLabel(r) != r {
				t.Fatalf("%s=%q is outside the label's values", method, r)
			}
		}
	})
}
