package smtpsession

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// PolitenessConfig bounds the SMTP connections the exporter opens to each
// mail server, as an MTA bounds its deliveries per destination: the
// servers of a mail platform are shared by thousands of domains, and a
// prober that opens thousands of port-25 connections to them gets its
// address rate-limited or blocklisted. It is process-wide (the config
// file's top-level smtp_politeness): the limits protect a server that every
// module shares, so a limit per module would multiply with the modules.
type PolitenessConfig struct {
	// MaxConnectionsPerAddress is how many connections to one address may
	// be open at once; more wait their turn (0: no bound).
	MaxConnectionsPerAddress int `yaml:"max_connections_per_address"`
	// ConnectionsPerMinutePerAddress is how many connections to one
	// address may start per minute, on average (0: no bound).
	ConnectionsPerMinutePerAddress int `yaml:"connections_per_minute_per_address"`
	// ConnectionsPerMinutePerNetwork is the same for all addresses of one
	// /24 (IPv4) or /64 (IPv6) together: a provider's servers often share
	// a network, and its rate limits with it (0: no bound).
	ConnectionsPerMinutePerNetwork int `yaml:"connections_per_minute_per_network"`
}

// The defaults. With min_interval: {smtp: 5m} a shared conversation costs
// an address one connection per interval, so these leave room for several
// EHLO names, modules and per-domain RCPT conversations while keeping any
// one server far below what an MTA delivering mail would open (Postfix's
// default_destination_concurrency_limit is 20).
const (
	DefaultMaxConnectionsPerAddress       = 2
	DefaultConnectionsPerMinutePerAddress = 20
	DefaultConnectionsPerMinutePerNetwork = 120
)

// DefaultPoliteness is the politeness of a config that does not set it.
func DefaultPoliteness() PolitenessConfig {
	return PolitenessConfig{
		MaxConnectionsPerAddress:       DefaultMaxConnectionsPerAddress,
		ConnectionsPerMinutePerAddress: DefaultConnectionsPerMinutePerAddress,
		ConnectionsPerMinutePerNetwork: DefaultConnectionsPerMinutePerNetwork,
	}
}

// UnmarshalYAML fills the defaults first, so keys left out keep them.
func (c *PolitenessConfig) UnmarshalYAML(unmarshal func(any) error) error {
	type rawPoliteness PolitenessConfig
	*c = DefaultPoliteness()
	if err := unmarshal((*rawPoliteness)(c)); err != nil {
		return err
	}
	return c.Validate()
}

// Validate says in one line what is wrong with the configuration.
func (c PolitenessConfig) Validate() error {
	for _, f := range []struct {
		name string
		v    int
		max  int
	}{
		{"max_connections_per_address", c.MaxConnectionsPerAddress, 1024},
		{"connections_per_minute_per_address", c.ConnectionsPerMinutePerAddress, 60000},
		{"connections_per_minute_per_network", c.ConnectionsPerMinutePerNetwork, 60000},
	} {
		if f.v < 0 || f.v > f.max {
			return fmt.Errorf("smtp_politeness: %s %d: want 0 (no bound) to %d", f.name, f.v, f.max)
		}
	}
	return nil
}

// The limits a connection can wait for, as the metrics label them.
const (
	LimitConcurrency = "concurrency"
	LimitAddressRate = "address_rate"
	LimitNetworkRate = "network_rate"
)

// Limits lists the limits in a fixed order.
var Limits = []string{LimitConcurrency, LimitAddressRate, LimitNetworkRate}

// Politeness holds the connections to each address and network to the
// configured bounds. It is process-wide (SharedPoliteness) and safe for
// concurrent use; Configure changes the bounds in force (a reload), and
// connections already open or waiting keep the state they have.
type Politeness struct {
	cfg atomic.Pointer[PolitenessConfig]

	mu       sync.Mutex
	addrs    map[netip.Addr]*addressState
	networks map[netip.Prefix]*rate.Limiter
	acquires int // since the last sweep

	stats PolitenessStats
}

// PolitenessStats count what the limits did, for the exporter's metrics.
type PolitenessStats struct {
	// Started counts connections the limits let start.
	Started atomic.Uint64
	// Open and Waiting are the connections open and waiting now.
	Open, Waiting atomic.Int64
	// Waits counts connections that had to wait for a limit, per limit
	// (Limits order); NotStarted those the deadline ended first.
	Waits, NotStarted [3]atomic.Uint64
	// WaitNanos is the time connections spent waiting, in all.
	WaitNanos atomic.Int64
}

// addressState is one address's open connections, its queue and its rate.
type addressState struct {
	open    int
	waiting []chan struct{} // first come, first served
	limiter *rate.Limiter
	// perMinute is the rate the limiter was made for.
	perMinute int
}

// NewPoliteness returns a Politeness with cfg in force.
func NewPoliteness(cfg PolitenessConfig) *Politeness {
	p := &Politeness{addrs: map[netip.Addr]*addressState{}, networks: map[netip.Prefix]*rate.Limiter{}}
	p.Configure(cfg)
	return p
}

// SharedPoliteness is the process's Politeness, kept in k (with the
// default bounds until the config sets others). A nil k has none: nothing
// is bounded.
func SharedPoliteness(k *probes.Kept) *Politeness {
	if k == nil {
		return nil
	}
	return probes.Keep(k, "smtp.politeness", nil, func() *Politeness { return NewPoliteness(DefaultPoliteness()) })
}

// Configure puts cfg in force for connections that start from now on.
func (p *Politeness) Configure(cfg PolitenessConfig) {
	c := cfg
	p.cfg.Store(&c)
}

// Config is the configuration in force.
func (p *Politeness) Config() PolitenessConfig { return *p.cfg.Load() }

// Stats are the counts of what the limits did.
func (p *Politeness) Stats() *PolitenessStats {
	if p == nil {
		return &PolitenessStats{}
	}
	return &p.stats
}

// rateNetworkOf is the network whose servers share a rate: the /24 of an IPv4
// address, the /64 of an IPv6 one.
func rateNetworkOf(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap().WithZone("")
	bits := 64
	if ip.Is4() {
		bits = 24
	}
	p, _ := ip.Prefix(bits)
	return p
}

// limiter returns a limiter of perMinute connections per minute, with a
// burst of a tenth of that (at least one): the connections of a minute are
// spread over it rather than all opened at its start.
func limiter(perMinute int) *rate.Limiter {
	return rate.NewLimiter(rate.Limit(float64(perMinute)/60), max(1, perMinute/10))
}

// Acquire waits until a connection to ip may start under the bounds, or
// until ctx ends, and returns how long it waited and the function that
// ends the connection's turn (call it when the connection is closed). The
// error says which bound kept the connection from starting before ctx's
// deadline: the exporter holding back, never the server's failure. A nil
// Politeness bounds nothing.
func (p *Politeness) Acquire(ctx context.Context, ip netip.Addr) (waited time.Duration, release func(), err error) {
	if p == nil {
		return 0, func() {}, nil
	}
	cfg := p.Config()
	start := time.Now()
	ip = ip.Unmap().WithZone("")
	p.stats.Waiting.Add(1)
	defer p.stats.Waiting.Add(-1)

	st, turn := p.enqueue(ip, cfg)
	if turn != nil {
		p.stats.Waits[0].Add(1)
		select {
		case <-turn:
		case <-ctx.Done():
			if !p.leaveQueue(ip, st, turn) {
				p.leave(ip, st) // the turn came as ctx ended: give it back
			}
			p.stats.NotStarted[0].Add(1)
			return time.Since(start), nil, fmt.Errorf("%d connections to %s were open (smtp_politeness.max_connections_per_address: %d) and none ended before the probe's deadline",
				cfg.MaxConnectionsPerAddress, ip, cfg.MaxConnectionsPerAddress)
		}
	}
	if err := p.waitRate(ctx, ip, st, cfg); err != nil {
		p.leave(ip, st)
		return time.Since(start), nil, err
	}
	p.stats.Started.Add(1)
	p.stats.Open.Add(1)
	waited = time.Since(start)
	p.stats.WaitNanos.Add(int64(waited))
	var once sync.Once
	return waited, func() {
		once.Do(func() {
			p.stats.Open.Add(-1)
			p.leave(ip, st)
		})
	}, nil
}

// enqueue takes a connection slot of ip, or queues for one: turn is nil
// when the slot is taken, else the channel closed when it is this caller's.
func (p *Politeness) enqueue(ip netip.Addr, cfg PolitenessConfig) (st *addressState, turn chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sweepLocked()
	st = p.addrs[ip]
	if st == nil {
		st = &addressState{}
		p.addrs[ip] = st
	}
	if cfg.MaxConnectionsPerAddress <= 0 || st.open < cfg.MaxConnectionsPerAddress && len(st.waiting) == 0 {
		st.open++
		return st, nil
	}
	turn = make(chan struct{})
	st.waiting = append(st.waiting, turn)
	return st, turn
}

// leaveQueue removes a waiter whose ctx ended; false when its turn had
// already come (the slot is then its own to give back).
func (p *Politeness) leaveQueue(ip netip.Addr, st *addressState, turn chan struct{}) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, w := range st.waiting {
		if w == turn {
			st.waiting = append(st.waiting[:i], st.waiting[i+1:]...)
			return true
		}
	}
	return false
}

// leave ends a connection's turn: the slot goes to the first waiter.
func (p *Politeness) leave(ip netip.Addr, st *addressState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(st.waiting) > 0 {
		next := st.waiting[0]
		st.waiting = st.waiting[1:]
		close(next) // the slot passes on: open stays the same
		return
	}
	st.open--
}

// waitRate reserves the connection's place in the rates of its address and
// its network and waits for it, or says which rate would keep it from
// starting before ctx's deadline (without waiting for nothing).
func (p *Politeness) waitRate(ctx context.Context, ip netip.Addr, st *addressState, cfg PolitenessConfig) error {
	now := time.Now()
	var addrRes, netRes *rate.Reservation
	p.mu.Lock()
	if cfg.ConnectionsPerMinutePerAddress > 0 {
		if st.limiter == nil || st.perMinute != cfg.ConnectionsPerMinutePerAddress {
			st.limiter, st.perMinute = limiter(cfg.ConnectionsPerMinutePerAddress), cfg.ConnectionsPerMinutePerAddress
		}
		addrRes = st.limiter.ReserveN(now, 1)
	}
	if cfg.ConnectionsPerMinutePerNetwork > 0 {
		n := rateNetworkOf(ip)
		lim := p.networks[n]
		if lim == nil || lim.Limit() != rate.Limit(float64(cfg.ConnectionsPerMinutePerNetwork)/60) {
			lim = limiter(cfg.ConnectionsPerMinutePerNetwork)
			p.networks[n] = lim
		}
		netRes = lim.ReserveN(now, 1)
	}
	p.mu.Unlock()

	var delay time.Duration
	limit, bound, perMinute := -1, "", 0
	if addrRes != nil && addrRes.DelayFrom(now) > 0 {
		delay, limit, bound, perMinute = addrRes.DelayFrom(now), 1, ip.String(), cfg.ConnectionsPerMinutePerAddress
	}
	if netRes != nil && netRes.DelayFrom(now) > delay {
		delay, limit, bound, perMinute = netRes.DelayFrom(now), 2, rateNetworkOf(ip).String(), cfg.ConnectionsPerMinutePerNetwork
	}
	if delay <= 0 {
		return nil
	}
	p.stats.Waits[limit].Add(1)
	cancel := func() {
		if addrRes != nil {
			addrRes.CancelAt(time.Now())
		}
		if netRes != nil {
			netRes.CancelAt(time.Now())
		}
	}
	key := Limits[limit]
	if dl, ok := ctx.Deadline(); ok && now.Add(delay).After(dl) {
		cancel()
		p.stats.NotStarted[limit].Add(1)
		return fmt.Errorf("connections to %s are at smtp_politeness.%s (%d a minute): the next may start in %s, after the probe's deadline",
			bound, rateKey(key), perMinute, delay.Round(time.Millisecond))
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		cancel()
		p.stats.NotStarted[limit].Add(1)
		return fmt.Errorf("connections to %s are at smtp_politeness.%s (%d a minute), and the probe's deadline came first", bound, rateKey(key), perMinute)
	}
}

func rateKey(limit string) string {
	if limit == LimitNetworkRate {
		return "connections_per_minute_per_network"
	}
	return "connections_per_minute_per_address"
}

// sweepEvery is how many acquisitions pass between sweeps of idle state.
const sweepEvery = 4096

// sweepLocked forgets addresses and networks with nothing open, nothing
// waiting and a full rate allowance: what a fleet's long tail of servers
// leaves behind.
func (p *Politeness) sweepLocked() {
	p.acquires++
	if p.acquires < sweepEvery {
		return
	}
	p.acquires = 0
	now := time.Now()
	for ip, st := range p.addrs {
		if st.open == 0 && len(st.waiting) == 0 && (st.limiter == nil || st.limiter.TokensAt(now) >= float64(st.limiter.Burst())) {
			delete(p.addrs, ip)
		}
	}
	for n, lim := range p.networks {
		if lim.TokensAt(now) >= float64(lim.Burst()) {
			delete(p.networks, n)
		}
	}
}
