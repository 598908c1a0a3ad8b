package smtpsession

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/internal/probetest"
	"github.com/deliverability-exporter/deliverability_exporter/internal/testbed"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

func TestSessionMemoryServesWithinItsAgeAndStaysBounded(t *testing.T) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	m := NewSessionMemory()
	m.maxEntries = 16
	const interval = 5 * time.Minute
	h := &heldSession{session: &Session{MX: "mx.example.test"}, target: "a.example", finished: now}
	m.put("a", h, interval)
	if got, ok := m.get("a", "reader.example", now.Add(4*time.Minute), interval); !ok || got != h {
		t.Error("a conversation 4 minutes old was not served under a 5-minute interval")
	}
	if _, ok := m.get("a", "reader.example", now.Add(4*time.Minute), 2*time.Minute); ok {
		t.Error("a conversation 4 minutes old was served to a module with a 2-minute interval")
	}
	if _, ok := m.get("a", "reader.example", now.Add(4*time.Minute), interval); !ok {
		t.Error("a shorter interval's miss dropped a conversation a longer one still serves")
	}
	if _, ok := m.get("a", "reader.example", now.Add(5*time.Minute), interval); ok {
		t.Error("a conversation as old as the interval was served")
	}
	// The target it was held for reads it until its own next run is due
	// (probes.Due): Prometheus scraping that target as often as the
	// interval runs it at every scrape, not every other one.
	own := &heldSession{session: &Session{MX: "mx.example.test"}, target: "own.example", started: now, finished: now.Add(2 * time.Second)}
	m.put("own", own, interval)
	if _, ok := m.get("own", "own.example", now.Add(4*time.Minute), interval); !ok {
		t.Error("a target's own conversation 4 minutes old was not served to it under a 5-minute interval")
	}
	if _, ok := m.get("own", "own.example", now.Add(interval-100*time.Millisecond), interval); ok {
		t.Error("the target's next scrape, an interval after its conversation began, read that conversation again")
	}
	if _, ok := m.get("own", "other.example", now.Add(interval-100*time.Millisecond), interval); !ok {
		t.Error("another target on the server did not read the conversation within the interval")
	}
	m.put("never", &heldSession{session: &Session{NotProbed: errors.New("not probed: deadline")}, finished: now}, interval)
	if _, ok := m.get("never", "reader.example", now, interval); ok {
		t.Error("a conversation that never happened was kept")
	}
	for i := range 100 {
		m.put(fmt.Sprint(i), h, interval)
		if n := m.Len(); n > m.maxEntries {
			t.Fatalf("%d conversations kept, more than the bound %d", n, m.maxEntries)
		}
	}
	if _, ok := m.get("99", "reader.example", now, interval); !ok {
		t.Error("the conversation kept last is gone")
	}
	var none *SessionMemory
	none.put("x", h, interval) // a config without a memory
	if _, ok := none.get("x", "reader.example", now, interval); ok {
		t.Error("a nil memory served a conversation")
	}
}

// TestSessionMemoryBoundedInBytes: conversations with a server that sends
// as much as the reply reader allows are counted for what they hold, and
// the memory drops conversations to stay within its bytes, whatever the
// number of entries it may still take.
func TestSessionMemoryBoundedInBytes(t *testing.T) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	const interval = 5 * time.Minute
	// A hostile server's conversation: a greeting and an EHLO reply of
	// 100 lines of 600 bytes each, within maxReplyBytes.
	line := strings.Repeat("x", 600)
	big := func() *Session {
		r := func() *Reply { return &Reply{Code: 250, Lines: slices.Repeat([]string{line}, 100)} }
		return &Session{MX: "mx.hostile.test", Connected: true, Greeting: r(), EHLO: r()}
	}
	size := sessionSize(big())
	if size < 2*100*600 {
		t.Fatalf("a conversation holding two replies of 60,000 bytes counted %d bytes", size)
	}
	m := NewSessionMemory()
	m.maxBytes = 10 * size
	for i := range 100 {
		m.put(fmt.Sprintf("mx%d.hostile.test|192.0.2.1:25", i), &heldSession{session: big(), finished: now}, interval)
		if b := m.Bytes(); b > m.maxBytes {
			t.Fatalf("after %d conversations: %d bytes kept, more than the bound %d", i+1, b, m.maxBytes)
		}
	}
	if n := m.Len(); n > 10 || n == 0 {
		t.Errorf("%d conversations kept within a bound of 10 of their size", n)
	}
	if _, ok := m.get("mx99.hostile.test|192.0.2.1:25", "reader.example", now, interval); !ok {
		t.Error("the conversation kept last is gone")
	}

	// The count follows what is dropped: expired entries, replaced ones.
	m.put("mx99.hostile.test|192.0.2.1:25", &heldSession{session: &Session{MX: "mx.hostile.test"}, finished: now}, interval)
	var sum int64
	m.mu.Lock()
	for _, e := range m.entries {
		sum += e.size
	}
	m.mu.Unlock()
	if b := m.Bytes(); b != sum {
		t.Errorf("Bytes() = %d, the entries add up to %d", b, sum)
	}
	for i := range 100 {
		m.get(fmt.Sprintf("mx%d.hostile.test|192.0.2.1:25", i), "reader.example", now.Add(interval), interval)
	}
	if n, b := m.Len(), m.Bytes(); n != 0 || b != 0 {
		t.Errorf("after every conversation expired: %d kept, %d bytes", n, b)
	}

	// One larger than the whole bound is not kept.
	m.maxBytes = size / 2
	m.put("huge", &heldSession{session: big(), finished: now}, interval)
	if _, ok := m.get("huge", "reader.example", now, interval); ok || m.Bytes() != 0 {
		t.Errorf("a conversation larger than the bound was kept (%d bytes)", m.Bytes())
	}
}

// TestSessionMemoryJoinsConcurrentAskers: requests that ask for one
// conversation at once, from any target, share the one held for the first;
// a conversation its holder's deadline cut short is held again for a
// waiter with time left, and never kept.
func TestSessionMemoryJoinsConcurrentAskers(t *testing.T) {
	m := NewSessionMemory()
	var talks atomic.Int32
	release := make(chan struct{})
	talk := func() *Session {
		talks.Add(1)
		<-release
		return &Session{MX: "mx.example.test", Connected: true}
	}
	var wg sync.WaitGroup
	results := make([]*heldSession, 20)
	fresh := make([]bool, 20)
	for i := range results {
		wg.Go(func() {
			results[i], fresh[i] = m.session(context.Background(), "k", fmt.Sprintf("d%d.example", i), time.Now, time.Minute, nil, talk)
		})
	}
	time.Sleep(20 * time.Millisecond) // let them all ask; the test holds with or without it
	close(release)
	wg.Wait()
	if n := talks.Load(); n != 1 {
		t.Errorf("%d conversations for 20 concurrent askers, want 1", n)
	}
	nfresh := 0
	for i, h := range results {
		if h == nil || h != results[0] {
			t.Fatalf("asker %d got %v, not the one conversation", i, h)
		}
		if fresh[i] {
			nfresh++
		}
	}
	if nfresh != 1 {
		t.Errorf("%d askers were told they held the conversation, want 1", nfresh)
	}
	if served, held := m.Stats(); served != 19 || held != 1 {
		t.Errorf("stats served %d, held %d; want 19, 1", served, held)
	}

	// Cut short by the holder's deadline: not kept, held again.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h, _ := m.session(ctx, "cut", "a.example", time.Now, time.Minute, nil, func() *Session {
		return &Session{Aborted: true, Stage: StageGreeting}
	})
	if h == nil || !h.session.Aborted {
		t.Fatalf("the holder did not get its cut-short conversation: %+v", h)
	}
	h, fresh1 := m.session(context.Background(), "cut", "b.example", time.Now, time.Minute, nil, func() *Session {
		return &Session{Connected: true}
	})
	if !fresh1 || h.session.Aborted {
		t.Error("a conversation cut short by its holder's deadline was served to the next asker")
	}
}

// TestKeptChainOwnsItsBytes: a served chain is kept for the memory's
// interval, and each of its certificates holds only its own DER, not the
// whole Certificate message it arrived in (up to 256 KiB from a hostile
// server, which sessionSize would not see).
func TestKeptChainOwnsItsBytes(t *testing.T) {
	ca, err := testbed.NewCA("Test Root")
	if err != nil {
		t.Fatal(err)
	}
	inter, err := ca.NewIntermediate("Test Intermediate", testbed.CertOptions{})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := inter.Issue(testbed.CertOptions{DNSNames: []string{"mx.example.test"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := testbed.StartSMTP(t, "127.0.0.1:0", testbed.SMTPBehaviour{Hostname: "mx.example.test", Certificate: &leaf})
	ap := netip.MustParseAddrPort(srv.Addr)
	env := &probes.Env{RootCAs: ca.Pool, Dialer: probetest.LoopbackDialer()}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := converse(ctx, env, nil, Endpoint{MX: "mx.example.test", IP: ap.Addr(), Port: int(ap.Port())}, conversation{ehloName: "probe.example.test"})
	if !s.Handshaked() || len(s.TLS.Chain) != 2 || !s.TLS.Valid {
		t.Fatalf("want a valid handshake with a chain of two: %+v (%v)", s.TLS, s.Err)
	}
	for i, c := range s.TLS.Chain {
		// A slice of the message would reach to its end: past the
		// intermediate, for the leaf.
		if slack := cap(c.Raw) - len(c.Raw); slack >= len(s.TLS.Chain[1].Raw) {
			t.Errorf("certificate %d: %d bytes of DER with %d more behind them: a slice of the Certificate message", i, len(c.Raw), slack)
		}
	}
}

// TestJoinedButNeverHeld: a request that joined a conversation whose
// connection was never made (the holder found the way out to port 25 down)
// reads it as not probed, not as a conversation held for another domain,
// which its report would otherwise name; one that was held is read as
// shared, and the holder reads its own.
func TestJoinedButNeverHeld(t *testing.T) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	never := &heldSession{session: &Session{MX: "mx.example.test", NotProbed: fmt.Errorf("mx.example.test: not probed: %w", ErrEgressDown)},
		target: "a.example", finished: now}
	if s := never.readBy(&probes.Env{}, false); s.Shared != nil || !errors.Is(s.NotProbed, ErrEgressDown) {
		t.Errorf("a joined conversation that never happened: shared %+v, not probed %v", s.Shared, s.NotProbed)
	}
	held := &heldSession{session: &Session{MX: "mx.example.test", Connected: true}, target: "a.example", finished: now}
	if s := held.readBy(&probes.Env{}, false); s.Shared == nil || s.Shared.Target != "a.example" || s == held.session {
		t.Errorf("a joined conversation: %+v, want a copy held for a.example", s.Shared)
	}
	if s := held.readBy(&probes.Env{}, true); s != held.session || s.Shared != nil {
		t.Error("the holder did not read its own conversation")
	}
}
