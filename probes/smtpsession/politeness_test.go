package smtpsession

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestPolitenessCapsConcurrentConnections: however many connections ask
// for one address at once, no more than the bound are open together, and
// every one gets its turn.
func TestPolitenessCapsConcurrentConnections(t *testing.T) {
	p := NewPoliteness(PolitenessConfig{MaxConnectionsPerAddress: 3})
	ip := netip.MustParseAddr("192.0.2.10")
	var open, peak atomic.Int32
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			_, release, err := p.Acquire(context.Background(), ip)
			if err != nil {
				t.Error(err)
				return
			}
			n := open.Add(1)
			for {
				old := peak.Load()
				if n <= old || peak.CompareAndSwap(old, n) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			open.Add(-1)
			release()
		})
	}
	wg.Wait()
	if got := peak.Load(); got > 3 || got < 1 {
		t.Errorf("%d connections open at once, want at most 3", got)
	}
	st := p.Stats()
	if st.Started.Load() != 200 || st.Open.Load() != 0 || st.Waiting.Load() != 0 {
		t.Errorf("started %d, open %d, waiting %d; want 200, 0, 0", st.Started.Load(), st.Open.Load(), st.Waiting.Load())
	}
	// Another address has its own turns.
	_, release, err := p.Acquire(context.Background(), netip.MustParseAddr("192.0.2.11"))
	if err != nil {
		t.Fatal(err)
	}
	release()
}

// TestPolitenessQueueGivesUpAtTheDeadline: a connection whose deadline
// comes while it waits for a turn is not made, says which bound held it,
// and leaves no slot taken behind it.
func TestPolitenessQueueGivesUpAtTheDeadline(t *testing.T) {
	p := NewPoliteness(PolitenessConfig{MaxConnectionsPerAddress: 1})
	ip := netip.MustParseAddr("2001:db8::25")
	_, hold, err := p.Acquire(context.Background(), ip)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, _, err = p.Acquire(ctx, ip)
	if err == nil || !strings.Contains(err.Error(), "max_connections_per_address: 1") {
		t.Fatalf("waiting past the deadline: %v, want the concurrency bound named", err)
	}
	if n := p.Stats().NotStarted[0].Load(); n != 1 {
		t.Errorf("%d connections counted as kept from starting by the concurrency bound, want 1", n)
	}
	hold()
	// The slot the deadline freed is not lost: the next asker gets it at once.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	_, release, err := p.Acquire(ctx2, ip)
	if err != nil {
		t.Fatalf("after the waiter gave up: %v", err)
	}
	release()
	release() // twice is harmless
	if n := p.Stats().Open.Load(); n != 0 {
		t.Errorf("%d connections counted open after every one ended", n)
	}
}

// TestPolitenessRates: the per-address and per-network rates let a burst
// through, then refuse a connection whose turn would come after its
// deadline at once, without waiting for nothing; a /24 (or /64) shares one
// rate and the next network has its own.
func TestPolitenessRates(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()

	// 60 a minute: bursts of 6, then one a second.
	p := NewPoliteness(PolitenessConfig{ConnectionsPerMinutePerAddress: 60})
	ip := netip.MustParseAddr("198.51.100.7")
	for i := range 6 {
		if _, release, err := p.Acquire(ctx, ip); err != nil {
			t.Fatalf("connection %d of the burst: %v", i, err)
		} else {
			release()
		}
	}
	short, cancelShort := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancelShort()
	_, _, err := p.Acquire(short, ip)
	if err == nil || !strings.Contains(err.Error(), "connections_per_minute_per_address (60 a minute)") || !strings.Contains(err.Error(), "after the probe's deadline") {
		t.Fatalf("the 7th connection within the second: %v, want the address rate named", err)
	}
	if short.Err() != nil {
		t.Error("the refusal waited for the deadline instead of answering at once")
	}
	if n := p.Stats().NotStarted[1].Load(); n != 1 {
		t.Errorf("%d kept from starting by the address rate, want 1", n)
	}

	// 12 a minute per /24: a burst of 1 for the whole network.
	p = NewPoliteness(PolitenessConfig{ConnectionsPerMinutePerNetwork: 12})
	if _, release, err := p.Acquire(ctx, netip.MustParseAddr("203.0.113.1")); err != nil {
		t.Fatal(err)
	} else {
		release()
	}
	_, _, err = p.Acquire(short, netip.MustParseAddr("203.0.113.200"))
	if err == nil || !strings.Contains(err.Error(), "203.0.113.0/24") || !strings.Contains(err.Error(), "connections_per_minute_per_network") {
		t.Fatalf("another address of the /24: %v, want the network rate named", err)
	}
	if _, release, err := p.Acquire(ctx, netip.MustParseAddr("203.0.114.1")); err != nil {
		t.Errorf("the next /24 shared the rate: %v", err)
	} else {
		release()
	}
	if got := rateNetworkOf(netip.MustParseAddr("2001:db8:1:2:3::4")).String(); got != "2001:db8:1:2::/64" {
		t.Errorf("network of an IPv6 address = %s, want its /64", got)
	}

	// A reload to no bounds applies to the next connection.
	p.Configure(PolitenessConfig{})
	if _, release, err := p.Acquire(short, netip.MustParseAddr("203.0.113.201")); err != nil {
		t.Errorf("with the bounds off: %v", err)
	} else {
		release()
	}
	var none *Politeness
	if _, release, err := none.Acquire(ctx, ip); err != nil {
		t.Error(err)
	} else {
		release()
	}
}

func TestPolitenessConfigValidate(t *testing.T) {
	if err := DefaultPoliteness().Validate(); err != nil {
		t.Error(err)
	}
	for _, bad := range []PolitenessConfig{{MaxConnectionsPerAddress: -1}, {ConnectionsPerMinutePerAddress: 60001}, {ConnectionsPerMinutePerNetwork: -5}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
