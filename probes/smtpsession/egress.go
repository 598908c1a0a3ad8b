package smtpsession

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/internal/flight"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// The exporter's own way out to the SMTP port. Many cloud and residential
// networks block outgoing port 25; from such a network every server looks
// silent or refusing, and a connection that fails says nothing about the
// server. Egress tells the two apart, from two kinds of evidence:
//
//   - the module's egress_check: addresses known to answer on the SMTP
//     port, connected to (and nothing said) when a conversation's
//     connection fails, at most once per EgressCheckInterval. One that
//     answers proves the way out works; none answering proves it does not.
//   - what the conversations themselves saw, process-wide: a connection
//     that opened within EgressWindow proves the way out works; failed
//     connections to servers in at least EgressMinNetworks different
//     networks (/24, /48), with none opening, show it does not.
//
// While the way out is down, a conversation whose connection failed is
// not probed (Session.NotProbed wraps ErrEgressDown): its checks are
// undecided, never the server's failure.

// Bounds of the evidence.
const (
	// EgressWindow is how long a connection, a failure or a check result
	// counts as evidence.
	EgressWindow = 10 * time.Minute
	// EgressCheckInterval is how long an egress_check result judges
	// failed connections before the next failure checks again.
	EgressCheckInterval = time.Minute
	// EgressMinNetworks is how many networks (/24 for IPv4, /48 for
	// IPv6) failed connections must reach, with none opening, before the
	// conversations alone show the way out down: fewer could be one
	// provider's outage, or one domain's servers that are all down.
	EgressMinNetworks = 3
	// egressCheckTimeout bounds one egress_check connection within the
	// conversation's deadline.
	egressCheckTimeout = 3 * time.Second
	// maxEgressAttempts bounds the attempts kept as evidence.
	maxEgressAttempts = 1024
	// maxEgressCheckAddresses bounds an egress_check's addresses.
	maxEgressCheckAddresses = 16
)

// ErrEgressDown is wrapped by the NotProbed error of a conversation whose
// connection failed while the exporter could not reach the SMTP port of
// any server.
var ErrEgressDown = errors.New("this exporter cannot reach the SMTP port of any server (its network may block outgoing port 25)")

// EgressCheck names addresses known to answer on the SMTP port (the
// module's own relays, a provider's MX hosts), so that a failed connection
// can be told from a blocked way out.
type EgressCheck struct {
	// Addresses are IP or IP:port; the port defaults to the module's smtp
	// port.
	Addresses []string `yaml:"addresses"`
}

// validate says in one line what is wrong with the check.
func (c EgressCheck) validate() error {
	if len(c.Addresses) > maxEgressCheckAddresses {
		return fmt.Errorf("smtp: egress_check.addresses: %d addresses; at most %d", len(c.Addresses), maxEgressCheckAddresses)
	}
	seen := map[string]bool{}
	for i, a := range c.Addresses {
		ap, err := parseEgressAddress(a, 25)
		if err != nil {
			return fmt.Errorf("smtp: egress_check.addresses[%d]: %w", i, err)
		}
		if seen[ap.String()] {
			return fmt.Errorf("smtp: egress_check.addresses[%d]: %s is listed twice", i, a)
		}
		seen[ap.String()] = true
	}
	return nil
}

// Targets are the check's addresses, with port where none is given.
// Validate has accepted them.
func (c EgressCheck) Targets(port int) []netip.AddrPort {
	var out []netip.AddrPort
	for _, a := range c.Addresses {
		if ap, err := parseEgressAddress(a, port); err == nil {
			out = append(out, ap)
		}
	}
	return out
}

// parseEgressAddress reads IP, IP:port or [IPv6]:port; a host name is
// refused, as every name the exporter dials is resolved through the
// module's resolvers, which may be what is down.
func parseEgressAddress(s string, port int) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		if ap.Port() == 0 || ap.Addr().Zone() != "" {
			return netip.AddrPort{}, fmt.Errorf("%q: want an IP address with a port from 1 to 65535 and no zone", s)
		}
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil || ip.Zone() != "" {
		return netip.AddrPort{}, fmt.Errorf("%q is not an IP address or IP:port (names are not resolved here)", s)
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(port)), nil
}

// EgressState is what the exporter knows of its way out to the SMTP port.
type EgressState int

// The states.
const (
	// EgressUnknown: too little evidence either way; failed connections
	// count as the servers'.
	EgressUnknown EgressState = iota
	EgressUp
	EgressDown
)

func (s EgressState) String() string {
	switch s {
	case EgressUp:
		return "up"
	case EgressDown:
		return "down"
	}
	return "unknown"
}

// Egress gathers the evidence of one process. It is safe for concurrent
// use; one Egress serves every module (SharedEgress).
type Egress struct {
	mu       sync.Mutex
	attempts []egressAttempt // oldest first
	checks   map[string]egressCheckResult
	group    *flight.Group[string, egressCheckResult]
}

type egressAttempt struct {
	at        time.Time
	network   netip.Prefix
	connected bool
}

// egressCheckResult is one run of an egress_check.
type egressCheckResult struct {
	at      time.Time
	decided bool // some address could be tried
	up      bool
	// why says what the check saw, for reasons.
	why string
}

// NewEgress returns an Egress without evidence.
func NewEgress() *Egress {
	return &Egress{checks: map[string]egressCheckResult{}, group: flight.NewGroup[string, egressCheckResult]()}
}

// SharedEgress returns the process-wide Egress kept in k.
func SharedEgress(k *probes.Kept) *Egress {
	return probes.Keep(k, "smtp.egress", nil, NewEgress)
}

// networkOf is the network an address counts for: its /24 or /48.
func networkOf(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap()
	bits := 48
	if ip.Is4() {
		bits = 24
	}
	p, _ := ip.Prefix(bits)
	return p
}

// observe records a connection attempt of a conversation on the SMTP port.
func (e *Egress) observe(ip netip.Addr, connected bool, at time.Time) {
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.attempts) >= maxEgressAttempts {
		e.attempts = append(e.attempts[:0], e.attempts[len(e.attempts)-maxEgressAttempts/2:]...)
	}
	e.attempts = append(e.attempts, egressAttempt{at: at, network: networkOf(ip), connected: connected})
}

// observed is what the conversations of the window show: the last
// connection that opened (zero if none) and the networks of the failed
// ones.
func (e *Egress) observed(now time.Time) (lastOK time.Time, failedNetworks int) {
	nets := map[netip.Prefix]bool{}
	for _, a := range e.attempts {
		switch {
		case now.Sub(a.at) >= EgressWindow:
		case a.connected:
			if a.at.After(lastOK) {
				lastOK = a.at
			}
		default:
			nets[a.network] = true
		}
	}
	return lastOK, len(nets)
}

// checkKey names an egress_check by its addresses.
func checkKey(targets []netip.AddrPort) string {
	s := make([]string, len(targets))
	for i, t := range targets {
		s[i] = t.String()
	}
	slices.Sort(s)
	return strings.Join(s, ",")
}

// Status is the state of the way out for a module with the egress_check
// targets (none: the conversations alone), and why, from the evidence
// kept: a check result of the window decides, unless a connection opened
// after a check that found none; then the conversations.
func (e *Egress) Status(now time.Time, targets []netip.AddrPort) (EgressState, string) {
	if e == nil {
		return EgressUnknown, ""
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.status(now, targets, EgressWindow)
}

// status is Status with the age up to which a check result counts.
func (e *Egress) status(now time.Time, targets []netip.AddrPort, checkAge time.Duration) (EgressState, string) {
	lastOK, failed := e.observed(now)
	if len(targets) > 0 {
		if c, ok := e.checks[checkKey(targets)]; ok && c.decided && now.Sub(c.at) < checkAge {
			switch {
			case c.up:
				return EgressUp, c.why
			case lastOK.After(c.at):
				return EgressUp, "a conversation's connection opened since the egress_check found none"
			default:
				return EgressDown, c.why
			}
		}
	}
	switch {
	case !lastOK.IsZero():
		return EgressUp, "a conversation's connection opened in the last " + EgressWindow.String()
	case failed >= EgressMinNetworks:
		return EgressDown, fmt.Sprintf("no connection to the SMTP port has opened in the last %s, and connections to servers in %d networks failed", EgressWindow, failed)
	}
	return EgressUnknown, ""
}

// refresh runs the egress_check of targets when its last result is older
// than EgressCheckInterval and ctx leaves time for it; callers at the same
// time join one run. Conversations start it beside themselves, so that a
// blocked port that swallows connections (they end only at the probe's
// deadline) is known by then.
func (e *Egress) refresh(ctx context.Context, env *probes.Env, targets []netip.AddrPort) {
	if e == nil || len(targets) == 0 || flight.ContextOver(ctx) {
		return
	}
	key := checkKey(targets)
	e.mu.Lock()
	last, checked := e.checks[key]
	e.mu.Unlock()
	if checked && env.Clock().Sub(last.at) < EgressCheckInterval {
		return
	}
	_, _, _ = e.group.Do(ctx, key, func() (egressCheckResult, error) {
		c := runEgressCheck(ctx, env, targets)
		if c.decided {
			e.mu.Lock()
			e.checks[key] = c
			e.mu.Unlock()
		}
		return c, nil
	})
}

// judge decides, for a conversation whose connection failed, whether the
// way out is down: from an egress_check result younger than
// EgressCheckInterval (run now if ctx leaves time), else from the
// conversations.
func (e *Egress) judge(ctx context.Context, env *probes.Env, targets []netip.AddrPort) (EgressState, string) {
	e.refresh(ctx, env, targets)
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.status(env.Clock(), targets, EgressCheckInterval)
}

// runEgressCheck connects to every target at once, through the module's
// dialer (its network policy applies), and closes each connection as soon
// as it opens: nothing is said. One that opens is enough.
func runEgressCheck(parent context.Context, env *probes.Env, targets []netip.AddrPort) egressCheckResult {
	ctx, cancel := context.WithTimeout(parent, egressCheckTimeout)
	defer cancel()
	dialer := env.Dialer
	if dialer == nil {
		dialer = &probes.AddressDialer{}
	}
	type outcome struct {
		target  netip.AddrPort
		err     error
		denied  bool
		aborted bool
	}
	outcomes := make([]outcome, len(targets))
	var tasks flight.Tasks
	for i, t := range targets {
		tasks.Go(func() {
			o := outcome{target: t}
			if p, ok := dialer.(interface{ Permit(netip.Addr) error }); ok {
				if err := p.Permit(t.Addr()); err != nil {
					o.err, o.denied = err, true
					outcomes[i] = o
					return
				}
			}
			conn, err := dialer.DialContext(ctx, "tcp", t.String())
			if err == nil {
				conn.Close()
			}
			o.err = err
			// The probe's deadline (not the check's own bound) ending
			// the attempt shows nothing.
			o.aborted = err != nil && flight.ContextOver(parent)
			outcomes[i] = o
		})
	}
	tasks.Wait()
	res := egressCheckResult{at: env.Clock()}
	var failed []string
	for _, o := range outcomes {
		switch {
		case o.err == nil:
			res.decided, res.up = true, true
			res.why = fmt.Sprintf("egress_check: %s answered", o.target)
			return res
		case o.denied || o.aborted || localFailure(o.err):
			// Not evidence: the module may not go there, or the probe's
			// own deadline ended it, or this machine has no route to it.
		default:
			res.decided = true
			failed = append(failed, fmt.Sprintf("%s (%s)", o.target, oneLine(o.err)))
		}
	}
	res.why = "egress_check: none of its addresses answered: " + strings.Join(failed, ", ")
	return res
}

// oneLine keeps an error on one bounded line.
func oneLine(err error) string {
	return probes.Clip(probes.EscapeLineBreaks(err.Error()), 200)
}

// settle records a new conversation's connection as evidence and, when it
// failed while the way out is down, makes the conversation not probed:
// the failure says nothing about the server. A conversation on another
// port than the one MX hosts are probed on (the implicit-TLS port, a host
// target's own port) is neither: port 25 being blocked says nothing of 465
// or 587, nor they of it.
func (e *Egress) settle(ctx context.Context, env *probes.Env, cfg Config, s *Session) {
	if e == nil || s.ImplicitTLS || s.Port != cfg.Port || s.NotProbed != nil || s.Stage == "" {
		return
	}
	connectFailed := !s.Connected && s.Stage == StageConnect
	e.observe(s.IP, s.Connected, env.Clock())
	if !connectFailed {
		return
	}
	state, why := e.judge(ctx, env, cfg.EgressCheck.Targets(cfg.Port))
	if state != EgressDown {
		return
	}
	cause := s.Err
	if cause == nil {
		cause = errors.New("no connection")
	}
	s.NotProbed = fmt.Errorf("%s: not probed: %w (%s); the failed connection (%s) says nothing about the server", s.Label(), ErrEgressDown, why, oneLine(cause))
	s.Err, s.Aborted = nil, false
}
