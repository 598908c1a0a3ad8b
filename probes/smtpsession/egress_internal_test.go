package smtpsession

import (
	"net/netip"
	"testing"
	"time"
)

func TestEgressStatus(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ip := netip.MustParseAddr
	check := []netip.AddrPort{netip.MustParseAddrPort("192.0.2.25:25")}

	e := NewEgress()
	if s, _ := e.Status(t0, nil); s != EgressUnknown {
		t.Fatalf("no evidence: %s", s)
	}
	// Two networks failing are one provider, or one domain: not enough.
	e.observe(ip("192.0.2.1"), false, t0)
	e.observe(ip("192.0.2.200"), false, t0)
	e.observe(ip("2001:db8:1:2::1"), false, t0)
	e.observe(ip("2001:db8:1:3::1"), false, t0) // the same /48
	if s, _ := e.Status(t0, nil); s != EgressUnknown {
		t.Errorf("failures in two networks: %s, want unknown", s)
	}
	e.observe(ip("::ffff:198.51.100.7"), false, t0.Add(time.Minute)) // mapped: its IPv4 /24
	s, why := e.Status(t0.Add(time.Minute), nil)
	if s != EgressDown || why == "" {
		t.Errorf("failures in three networks: %s (%q), want down", s, why)
	}
	// A connection that opens proves the way out, for the window.
	e.observe(ip("203.0.113.9"), true, t0.Add(2*time.Minute))
	if s, _ := e.Status(t0.Add(2*time.Minute), nil); s != EgressUp {
		t.Errorf("after a connection opened: %s, want up", s)
	}
	if s, _ := e.Status(t0.Add(2*time.Minute+EgressWindow-time.Second), nil); s != EgressUp {
		t.Errorf("within the window: %s, want up", s)
	}
	// Everything ages out of the window.
	if s, _ := e.Status(t0.Add(2*time.Minute+EgressWindow), nil); s != EgressUnknown {
		t.Errorf("after the window: %s, want unknown", s)
	}

	// An egress_check result decides for its module, within the window,
	// until a connection opens after a check that found none.
	e = NewEgress()
	e.observe(ip("203.0.113.9"), true, t0)
	e.checks[checkKey(check)] = egressCheckResult{at: t0.Add(time.Minute), decided: true, why: "none answered"}
	if s, why := e.Status(t0.Add(time.Minute), check); s != EgressDown || why != "none answered" {
		t.Errorf("check found none: %s (%q), want down", s, why)
	}
	if s, _ := e.Status(t0.Add(time.Minute), nil); s != EgressUp {
		t.Errorf("a module without the check: %s, want up by the conversations", s)
	}
	e.observe(ip("203.0.113.9"), true, t0.Add(2*time.Minute))
	if s, _ := e.Status(t0.Add(2*time.Minute), check); s != EgressUp {
		t.Errorf("a connection opened after the check: %s, want up", s)
	}
	e.checks[checkKey(check)] = egressCheckResult{at: t0.Add(3 * time.Minute), decided: true, up: true, why: "answered"}
	e.observe(ip("192.0.2.1"), false, t0.Add(4*time.Minute))
	e.observe(ip("198.51.100.1"), false, t0.Add(4*time.Minute))
	e.observe(ip("2001:db8::1"), false, t0.Add(4*time.Minute))
	if s, _ := e.Status(t0.Add(4*time.Minute), check); s != EgressUp {
		t.Errorf("the check answered, then servers failed: %s, want up (they are down)", s)
	}
	// judge reads a check result only while it is fresh.
	if s, _ := e.status(t0.Add(3*time.Minute+EgressCheckInterval), check, EgressCheckInterval); s != EgressUp {
		t.Errorf("stale check, connection 2 minutes ago: %s, want up by the conversations", s)
	}
}

func TestEgressAttemptsBounded(t *testing.T) {
	e := NewEgress()
	t0 := time.Now()
	for i := range 3 * maxEgressAttempts {
		e.observe(netip.AddrFrom4([4]byte{192, 0, byte(i >> 8), byte(i)}), false, t0)
	}
	if n := len(e.attempts); n > maxEgressAttempts {
		t.Errorf("%d attempts kept, at most %d", n, maxEgressAttempts)
	}
	var nilEgress *Egress
	nilEgress.observe(netip.MustParseAddr("192.0.2.1"), true, t0)
	if s, _ := nilEgress.Status(t0, nil); s != EgressUnknown {
		t.Errorf("nil Egress: %s", s)
	}
}
