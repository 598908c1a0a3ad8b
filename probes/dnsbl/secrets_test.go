package dnsbl_test

import (
	"slices"
	"testing"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsbl"
)

// TestZoneSecrets: the access key of a keyed service (Spamhaus DQS,
// Abusix) and any label that looks like a key are secrets; a list's own
// labels are not, and a zone without a key has none.
func TestZoneSecrets(t *testing.T) {
	for _, tc := range []struct {
		zone, redacted string
		secrets        []string
	}{
		{"zen.spamhaus.org", "zen.spamhaus.org", nil},
		{"abcdefghijklmnopqrstu12345.zen.dq.spamhaus.net", "<secret>.zen.dq.spamhaus.net", []string{"abcdefghijklmnopqrstu12345"}},
		{"abcdefghijklmnopqrstuvwxyz.dbl.dq.spamhaus.net", "<secret>.dbl.dq.spamhaus.net", []string{"abcdefghijklmnopqrstuvwxyz"}},
		{"0123456789abcdef0123456789abcdef.combined.mail.abusix.zone", "<secret>.combined.mail.abusix.zone", []string{"0123456789abcdef0123456789abcdef"}},
		{"zen.dq.spamhaus.net", "zen.dq.spamhaus.net", nil}, // no key: "zen" is the list's word
		{"k3y0123456789abcdefgh.bl.example.net", "<secret>.bl.example.net", []string{"k3y0123456789abcdefgh"}},
		{"averyveryverylongwordlabel.bl.example.net", "averyveryverylongwordlabel.bl.example.net", nil},
	} {
		if got := dnsbl.ZoneSecrets(tc.zone); !slices.Equal(got, tc.secrets) {
			t.Errorf("ZoneSecrets(%s) = %q, want %q", tc.zone, got, tc.secrets)
		}
		if got := dnsbl.RedactZone(tc.zone); got != tc.redacted {
			t.Errorf("RedactZone(%s) = %s, want %s", tc.zone, got, tc.redacted)
		}
	}
}

// TestBudgetFiguresHideTheKey: the process-wide budget figures, exported
// as /metrics labels, name a keyed list without its key.
func TestBudgetFiguresHideTheKey(t *testing.T) {
	b := dnsbl.NewBudgets()
	b.Configure("abcdefghijklmnopqrstu12345.zen.dq.spamhaus.net", 1000)
	figs := b.Figures(time.Now())
	if len(figs) != 1 || figs[0].Zone != "<secret>.zen.dq.spamhaus.net" || figs[0].Budget != 1000 {
		t.Errorf("figures %+v", figs)
	}
}
