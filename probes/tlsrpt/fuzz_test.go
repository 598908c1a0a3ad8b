package tlsrpt_test

import (
	"strings"
	"testing"

	"github.com/deliverability-exporter/deliverability_exporter/probes/tlsrpt"
)

// FuzzParse: any TXT record parses or fails without a panic, with a
// one-line error; what parses begins with v=TLSRPTv1 and lists at least
// one destination, each either usable (mailto: with an address or https:
// with a host) or carrying the reason it is not.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		googleRecord, justiceRecord, rfcMailto, rfcHTTPS,
		"v=TLSRPTv1; rua=mailto:tls@example.com , https://r.example.net/tls?x=1,\tMAILTO:Ops%2bTLS@EXAMPLE.ORG ;",
		"v=TLSRPTv1; 9x-y.z=a:b; rua=mailto:a@example.com; note=!",
		"v=TLSRPTv1; rua=http://r.example.com/,xmpp:tls@example.com,mailto:,mailto:nobody,https:///path",
		"v=TLSRPTv1; rua=mailto:a@example.com,",
		"v=TLSRPTv1; rua=mailto:a%zz@example.com",
		"v=TLSRPTv1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, txt string) {
		rec, err := tlsrpt.Parse(txt)
		if err != nil {
			if rec != nil {
				t.Fatalf("a record and an error for %q", txt)
			}
			if msg := err.Error(); msg == "" || strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("error %q for %q is not one line", msg, txt)
			}
			return
		}
		if !tlsrpt.IsRecord(txt) || len(rec.RUA) == 0 {
			t.Fatalf("parsed %+v from %q", rec, txt)
		}
		for _, u := range rec.RUA {
			switch {
			case u.Raw == "" || strings.ContainsAny(u.Raw, " \t;,"):
				t.Fatalf("URI %q from %q", u.Raw, txt)
			case !u.Valid():
			case u.Scheme == tlsrpt.SchemeMailto && (u.Address == "" || u.Host == "" || !strings.HasSuffix(u.Address, "@"+u.Host)):
				t.Fatalf("mailto %+v from %q", u, txt)
			case u.Scheme == tlsrpt.SchemeHTTPS && u.Host == "":
				t.Fatalf("https %+v from %q", u, txt)
			case u.Scheme != tlsrpt.SchemeMailto && u.Scheme != tlsrpt.SchemeHTTPS:
				t.Fatalf("valid %q URI %+v from %q", u.Scheme, u, txt)
			}
		}
	})
}
