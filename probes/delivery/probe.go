// Package delivery is the probe that proves, with a real message, that the
// mail a domain sends arrives signed, aligned and from a clean address. It
// submits one small message through the domain's own submission server
// (587 with STARTTLS or 465 with implicit TLS, AUTH PLAIN or LOGIN with a
// password read from a file) or its outgoing relay (25, authorised by
// address), addressed to the exporter's built-in receiver; the receiver
// records what a receiving MTA sees, and the probe judges it the way a
// large receiver does: TLS, SPF for MAIL FROM and HELO, every DKIM
// signature, DMARC with alignment, the relay address's forward-confirmed
// reverse DNS and blocklist status, internal addresses in Received headers.
//
// A scrape cannot wait for mail, so the probe paces itself: a run sends at
// most once per min_interval (default 5 minutes), waits up to scrape_wait
// for the message within the scrape's deadline, and otherwise answers with
// the latest completed round trip and its age; a later run judges the
// message once it has arrived, or records it as lost once max_wait has
// passed.
//
// The probe imports no other probe: the engine lends it the spf probe's
// check_host(), the dmarc probe's policy discovery, and the mx and dnsbl
// probes, which it runs on the relay's address (Lent).
package delivery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/internal/flight"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsclient"
)

// Name is the probe's name (the probe label of its metrics).
const Name = "delivery"

// maxTargets bounds the targets one module's delivery probe keeps a round
// trip for; beyond it new targets are refused.
const maxTargets = 256

// Lent is what the engine lends the probe from the other probes, so it
// judges the relay's address as they judge a domain's, without importing
// them.
type Lent struct {
	// CheckHost is the spf probe's check_host(): the result's name (pass,
	// fail, softfail, neutral, none, temperror, permerror) and, for the
	// errors, why.
	CheckHost func(ctx context.Context, r *dnsclient.Resolver, ip netip.Addr, domain, sender, helo string) (string, error)
	// DMARC is the dmarc probe's policy discovery (RFC 7489 §6.6.3): the
	// policy receivers apply to mail From: domain, nil when there is none,
	// an error when a DNS question that decides went unanswered.
	DMARC func(ctx context.Context, r *dnsclient.Resolver, domain string) (*DMARCPolicy, error)
	// Reverse judges reverse DNS: a probe run on the address as an IP
	// target, whose Checks decide delivery.outbound_fcrdns.
	Reverse LentProbe
	// Blocklists judges blocklist status the same way, for
	// delivery.outbound_not_listed.
	Blocklists LentProbe
}

// DMARCPolicy is the DMARC record that applies to a From: domain, as the
// dmarc probe reads it.
type DMARCPolicy struct {
	// Owner is the record's name: _dmarc.<From: domain>, or
	// _dmarc.<organizational domain> when the domain has none of its own.
	Owner string
	// Policy is what applies to the From: domain (p=, or the
	// organizational domain's sp=).
	Policy string
	// StrictDKIM and StrictSPF are adkim=s and aspf=s.
	StrictDKIM, StrictSPF bool
	// Unusable, when set, says why receivers apply no DMARC although a
	// record is there (several records, or one they cannot apply): the
	// message's DMARC result is permerror.
	Unusable string
}

// LentProbe is another probe and the checks of it that decide one of this
// probe's checks.
type LentProbe struct {
	Build  func(probes.Setup) probes.Probe
	Checks []string
}

// NewRegistration declares the probe to the engine with what it lends.
func NewRegistration(l Lent) probes.Registration {
	return probes.Register(Name, nil, DefaultConfig,
		func(c Config, s probes.Setup) *Probe { return New(c, l, s) })
}

// Probe sends and judges the round trips of one module. It is safe for
// concurrent use.
type Probe struct {
	cfg         Config
	lent        Lent
	reverse     probes.Probe
	blocklists  probes.Probe
	minInterval time.Duration
	kept        *probes.Kept
	trips       *tripStore
}

var (
	_ probes.Probe            = (*Probe)(nil)
	_ probes.Describer        = (*Probe)(nil)
	_ probes.SelfPaced        = (*Probe)(nil)
	_ probes.OutboundObserver = (*Probe)(nil)
)

// New makes the probe. Its round trips live in s.Kept, so a reload keeps
// a message in flight.
func New(cfg Config, l Lent, s probes.Setup) *Probe {
	p := &Probe{cfg: cfg, lent: l, minInterval: s.MinInterval, kept: s.Kept}
	if p.minInterval <= 0 {
		p.minInterval = DefaultMinInterval
	}
	if l.Reverse.Build != nil {
		p.reverse = l.Reverse.Build(s)
	}
	if l.Blocklists.Build != nil {
		p.blocklists = l.Blocklists.Build(s)
	}
	p.trips = probes.Keep(s.Kept, "delivery.trips/"+s.Module, nil, func() *tripStore {
		return &tripStore{byTarget: map[string]*tripState{}}
	})
	return p
}

// Name returns "delivery".
func (p *Probe) Name() string { return Name }

// PacesItself tells the engine not to serve this probe's results again
// under min_interval: the probe reads min_interval as how often it sends,
// and answers every run with its latest round trip.
func (p *Probe) PacesItself() bool { return true }

// tripStore holds the round trips of one module, by target.
type tripStore struct {
	mu       sync.Mutex
	byTarget map[string]*tripState
}

func (s *tripStore) get(target string) (*tripState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.byTarget[target]; ok {
		return st, nil
	}
	if len(s.byTarget) >= maxTargets {
		return nil, fmt.Errorf("the module's delivery probe already keeps round trips for %d targets (the bound); restrict it with allowed_targets", maxTargets)
	}
	st := &tripState{}
	s.byTarget[target] = st
	return st, nil
}

// tripState is one target's round trips: the one in flight and the latest
// completed.
type tripState struct {
	mu       sync.Mutex
	sending  bool
	lastSent time.Time
	inflight *roundTrip
	latest   *probes.Result
	latestAt time.Time
	// outbound is the address the latest message reached the built-in
	// receiver from.
	outbound netip.Addr
}

// roundTrip is a message accepted by the submission server whose
// receivers have not all seen it yet.
type roundTrip struct {
	token, messageID string
	from, to         string
	sent             *submission
	deadline         time.Time
	// busy is set while a run works on the round trip (under the state's
	// lock), so two scrapes never judge or poll it at once.
	busy bool
	// builtin is the verdict on the message the built-in receiver got,
	// once it has (builtinAt: when it arrived there).
	builtin   *probes.Result
	builtinAt time.Time
	boxes     []*boxState
}

// resolved reports whether every receiver has seen the message.
func (t *roundTrip) resolved() bool {
	if t.builtin == nil {
		return false
	}
	for _, b := range t.boxes {
		if b.found == nil {
			return false
		}
	}
	return true
}

// Run sends when it is time, advances the round trip in flight (judges
// what the receiver got, looks in the mailboxes) and answers with the
// latest completed round trip.
func (p *Probe) Run(ctx context.Context, req *probes.Request, env *probes.Env) *probes.Result {
	res := probes.NewResult(Name)
	if req.Target.Kind != probes.KindDomain {
		res.SkipAll(req.Target.NotADomain("the mail it sends and its round trips"), allChecks...)
		return res
	}
	mb, ok := probes.MailboxOf(p.kept)
	if !ok {
		res.UndecidedAll(errors.New("the built-in receiver is off: start the exporter with --receiver.listen-address to receive the probe's messages"), allChecks...)
		return res
	}
	from, err := p.fromFor(req.Target.Name)
	if err != nil {
		res.UndecidedAll(err, allChecks...)
		return res
	}
	st, err := p.trips.get(req.Target.Name)
	if err != nil {
		res.UndecidedAll(err, allChecks...)
		return res
	}

	// First the round trip in flight (which may complete, or be given up
	// on), then, when none is left and min_interval has passed, a new one.
	st.mu.Lock()
	var work *roundTrip
	if t := st.inflight; t != nil && !t.busy {
		t.busy, work = true, t
	}
	st.mu.Unlock()
	if work != nil {
		p.advance(ctx, env, st, mb, work)
	}
	st.mu.Lock()
	now := env.Clock()
	due := st.inflight == nil && !st.sending &&
		(st.lastSent.IsZero() || probes.Due(st.lastSent, now, p.minInterval))
	if due {
		st.sending, st.lastSent = true, now
	}
	st.mu.Unlock()
	if due {
		p.roundTrip(ctx, env, st, mb, from)
	}

	st.mu.Lock()
	defer st.mu.Unlock()
	now = env.Clock()
	if st.latest == nil {
		reason := "no round trip has completed yet"
		if st.inflight != nil {
			reason += fmt.Sprintf(": the first message was sent at %s and has not arrived everywhere", st.inflight.sent.At.UTC().Format(time.RFC3339))
		}
		res.SkipAll(reason, allChecks...)
	} else {
		replay(res, st.latest)
		res.SetAge(max(0, now.Sub(st.latestAt)))
	}
	inFlight := 0.0
	if st.inflight != nil {
		inFlight = 1
		res.Note("a message is in flight: sent at %s, %s, given up on at %s",
			st.inflight.sent.At.UTC().Format(time.RFC3339), st.inflight.messageID, st.inflight.deadline.UTC().Format(time.RFC3339))
	}
	res.Measure(metricInFlight, inFlight)
	if !st.lastSent.IsZero() {
		res.Measure(metricSentTimestamp, float64(st.lastSent.UnixNano())/1e9)
	}
	return res
}

// ObservedOutboundIPs is the address the target's latest probe message
// was delivered from, for the other probes of the module (spf's
// authorizes_outbound, dnsbl).
func (p *Probe) ObservedOutboundIPs(target probes.Target) []netip.Addr {
	if target.Kind != probes.KindDomain {
		return nil
	}
	p.trips.mu.Lock()
	st := p.trips.byTarget[target.Name]
	p.trips.mu.Unlock()
	if st == nil {
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.outbound.IsValid() {
		return nil
	}
	return []netip.Addr{st.outbound}
}

// fromFor is the sender for the target: the configured from, which must be
// in the target domain, or deliverability-probe@<target>.
func (p *Probe) fromFor(target string) (string, error) {
	if p.cfg.From == "" {
		return DefaultFromLocalPart + "@" + target, nil
	}
	from, _ := parseAddress(p.cfg.From)
	d := domainOf(from)
	if d != target && !strings.HasSuffix(d, "."+target) {
		return "", fmt.Errorf("from %s is not in the target domain %s: the probe sends only as the domain it checks (use allowed_targets to keep other targets out of this module)", from, target)
	}
	return from, nil
}

// roundTrip submits a message and, when it is accepted, waits for it as
// long as the scrape allows.
func (p *Probe) roundTrip(ctx context.Context, env *probes.Env, st *tripState, mb probes.Mailbox, from string) {
	defer func() {
		st.mu.Lock()
		st.sending = false
		st.mu.Unlock()
	}()
	token, err := newToken()
	if err != nil {
		p.setLatest(st, p.undecidedTrip(err), env.Clock())
		return
	}
	now := env.Clock()
	rcpts := []string{p.cfg.To}
	t := &roundTrip{token: token, from: from, to: p.cfg.To, deadline: now.Add(p.cfg.MaxWait)}
	for _, m := range p.cfg.Mailboxes {
		rcpts = append(rcpts, m.Address)
		t.boxes = append(t.boxes, &boxState{cfg: m})
	}
	message, messageID := compose(from, rcpts, token, now)
	t.messageID = messageID
	// The receiver must expect the message before the relay can deliver
	// it, which may be at once; it waits a minute beyond max_wait, which
	// counts from the acceptance, after the submission.
	if err := mb.Expect(token, p.cfg.To, t.deadline.Add(time.Minute)); err != nil {
		p.setLatest(st, p.undecidedTrip(err), now)
		return
	}
	t.sent = submit(ctx, env, p.cfg, from, rcpts, message)
	if t.sent.Err != nil {
		mb.Forget(token)
		p.setLatest(st, p.refused(t), env.Clock())
		return
	}
	t.deadline = t.sent.At.Add(p.cfg.MaxWait)
	t.busy = true // this run waits for it and advances it
	st.mu.Lock()
	st.inflight = t
	st.mu.Unlock()
	p.awaitArrival(ctx, env, mb, token)
	p.advance(ctx, env, st, mb, t)
}

// awaitArrival waits for the message at the built-in receiver up to
// scrape_wait, and at most half of what is left of the run's deadline, so
// judging it and looking in the mailboxes still fit.
func (p *Probe) awaitArrival(ctx context.Context, env *probes.Env, mb probes.Mailbox, token string) {
	wait := p.cfg.ScrapeWait
	if dl, ok := ctx.Deadline(); ok {
		if left := dl.Sub(env.Clock()) / 2; left < wait {
			wait = left
		}
	}
	notify := mb.Notify(token)
	if wait <= 0 || notify == nil {
		return
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-notify:
	case <-timer.C:
	case <-ctx.Done():
	}
}

// advance moves a round trip in flight on: it judges the message once the
// built-in receiver has it, looks for it in the mailboxes that have not
// shown it yet, and completes the round trip when every receiver has seen
// it or max_wait has passed. The caller has set t.busy.
func (p *Probe) advance(ctx context.Context, env *probes.Env, st *tripState, mb probes.Mailbox, t *roundTrip) {
	defer func() {
		st.mu.Lock()
		t.busy = false
		st.mu.Unlock()
	}()
	if t.builtin == nil {
		if msg, ok := mb.Arrived(t.token); ok {
			t.builtin, t.builtinAt = p.judgeArrival(ctx, env, t, msg), msg.At
			st.mu.Lock()
			st.outbound = msg.Remote.Addr()
			st.mu.Unlock()
		}
	}
	var tasks flight.Tasks
	for _, b := range t.boxes {
		if b.found != nil || ctx.Err() != nil {
			continue
		}
		tasks.Go(func() {
			f, err := lookInMailbox(ctx, env, b.cfg, t.token)
			if f != nil {
				b.found = f
			}
			b.lastErr = err
		})
	}
	tasks.Wait()
	now := env.Clock()
	if !t.resolved() && !now.After(t.deadline) {
		return
	}
	mb.Forget(t.token)
	res, at := p.assemble(t)
	st.mu.Lock()
	if st.inflight == t {
		st.inflight = nil
	}
	st.latest, st.latestAt = res, at
	st.mu.Unlock()
}

// judgeArrival is the verdict on the message as the built-in receiver got
// it: delivery.arrived and everything judge records.
func (p *Probe) judgeArrival(ctx context.Context, env *probes.Env, t *roundTrip, msg *probes.ReceivedMessage) *probes.Result {
	res := probes.NewResult(Name)
	took := max(0, msg.At.Sub(t.sent.At))
	res.Pass(checkArrived, fmt.Sprintf("the message arrived at the built-in receiver %s after it was accepted, from %s", took.Round(time.Millisecond), msg.Remote.Addr()),
		"Message-ID "+t.messageID, fmt.Sprintf("HELO %s, MAIL FROM <%s>, RCPT TO <%s>", probes.Quote(msg.HELO), msg.MailFrom, msg.Rcpt))
	res.Measure(metricDuration, took.Seconds(), ReceiverBuiltin)
	judge(ctx, env, p.cfg, p.lent, p.reverse, p.blocklists, msg, res)
	return res
}

// assemble is the completed round trip: the submission, the built-in
// receiver's verdict (or the message lost on its way there), and the
// mailboxes' placements. at is when it completed: the last arrival, or
// the deadline for a message still missing somewhere.
func (p *Probe) assemble(t *roundTrip) (*probes.Result, time.Time) {
	res := probes.NewResult(Name)
	p.recordAccepted(res, t)
	at := t.builtinAt
	if t.builtin != nil {
		replay(res, t.builtin)
	} else {
		at = t.deadline
		res.Fail(checkArrived, fmt.Sprintf("the message accepted at %s did not arrive at the built-in receiver within max_wait (%s)", t.sent.At.UTC().Format(time.RFC3339), p.cfg.MaxWait),
			"look for Message-ID "+t.messageID+" in the relay's queue and logs (mailq, then the log line of its queue id): the relay holds it, bounced it, or delivered it elsewhere",
			"Message-ID "+t.messageID)
		res.SkipAll("the message did not arrive at the built-in receiver", allChecks[2:len(allChecks)-1]...)
	}
	p.recordMailboxes(res, t)
	for _, b := range t.boxes {
		if b.found == nil {
			at = t.deadline
		} else if b.found.at.After(at) {
			at = b.found.at
		}
	}
	return res, at
}

// recordMailboxes records delivery.inbox and the mailboxes' measurements.
func (p *Probe) recordMailboxes(res *probes.Result, t *roundTrip) {
	if len(t.boxes) == 0 {
		res.Skip(checkInbox, "no IMAP mailboxes are configured (delivery.mailboxes)")
		return
	}
	var spam, missing, inbox, ev []string
	var errs []error
	for _, b := range t.boxes {
		name := b.cfg.Name
		f := b.found
		switch {
		case f == nil:
			missing = append(missing, name)
			res.Measure(metricPlacement, 1, name, PlacementMissing)
			line := name + ": not found in " + strings.Join(append([]string{b.cfg.Inbox}, b.cfg.SpamFolders...), ", ")
			if b.lastErr != nil {
				line += " (last look: " + b.lastErr.Error() + ")"
				errs = append(errs, fmt.Errorf("mailbox %s: %w", name, b.lastErr))
			}
			ev = append(ev, line)
			continue
		case f.placement == PlacementSpam:
			spam = append(spam, fmt.Sprintf("%s (%s)", name, f.folder))
		default:
			inbox = append(inbox, name)
		}
		res.Measure(metricPlacement, 1, name, f.placement)
		if !f.at.IsZero() {
			res.Measure(metricDuration, max(0, f.at.Sub(t.sent.At)).Seconds(), name)
		}
		for _, method := range []string{MethodSPF, MethodDKIM, MethodDMARC} {
			if v, ok := f.authres[method]; ok {
				res.Measure(metricAuth, 1, name, method, v)
			}
		}
		line := fmt.Sprintf("%s: %s", name, f.folder)
		if f.authresV != "" {
			line += "; Authentication-Results: " + f.authresV
		}
		ev = append(ev, line)
	}
	switch {
	case len(spam) > 0:
		res.Fail(checkInbox, "the message landed in spam at "+strings.Join(spam, ", "),
			"read the receiver's Authentication-Results in the evidence: fix what fails first (SPF, DKIM, DMARC); with all passing, the sending address or domain has a poor reputation there (Google Postmaster Tools, Microsoft SNDS show it)", ev...)
	case len(missing) > 0 && len(errs) == len(missing):
		res.UndecidedAll(errors.Join(errs...), checkInbox)
	case len(missing) > 0:
		res.Fail(checkInbox, fmt.Sprintf("the message did not arrive within max_wait (%s) at %s", p.cfg.MaxWait, strings.Join(missing, ", ")),
			"look for Message-ID "+t.messageID+" in the relay's log: the receiver refused or deferred it (its reply says why), or filed it in a folder not in spam_folders", ev...)
	default:
		res.Pass(checkInbox, "the message arrived in the inbox at "+strings.Join(inbox, ", "), ev...)
	}
}

// setLatest makes res the latest completed round trip, completed at at.
func (p *Probe) setLatest(st *tripState, res *probes.Result, at time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.latest, st.latestAt = res, at
}

// recordAccepted records the submission's success.
func (p *Probe) recordAccepted(res *probes.Result, t *roundTrip) {
	s := t.sent
	how := "in plain text"
	if s.TLSVersion != 0 {
		how = "over " + tlsName(s.TLSVersion)
	}
	if s.AuthMechanism != "" {
		how += " with AUTH " + s.AuthMechanism
	}
	res.Pass(checkAccepted, fmt.Sprintf("%s (%s) accepted the message %s: %s (after %s)", s.Server, s.Addr, how, s.Reply, s.Took.Round(time.Millisecond)),
		"MAIL FROM <"+t.from+"> RCPT TO <"+t.to+">, Message-ID "+t.messageID)
	res.Measure(metricSubmission, s.Took.Seconds())
	res.AddDetail("Submission to "+s.Server, s.Transcript...)
}

// refused is the round trip whose submission failed.
func (p *Probe) refused(t *roundTrip) *probes.Result {
	res := probes.NewResult(Name)
	s := t.sent
	var le *lookupError
	if errors.As(s.Err, &le) {
		res.Undecided(checkAccepted, s.Err)
	} else {
		res.Fail(checkAccepted, fmt.Sprintf("the message was not accepted (at %s): %v", s.Stage, s.Err),
			refusalFix(p.cfg, s, t.from), "MAIL FROM <"+t.from+"> RCPT TO <"+t.to+">")
	}
	if len(s.Transcript) > 0 {
		res.AddDetail("Submission to "+s.Server, s.Transcript...)
	}
	res.SkipAll("the message was not accepted", allChecks[1:]...)
	return res
}

// refusalFix says what to look at for each stage a submission can fail at;
// from is the sender the probe used (cfg.From is empty when it defaults to
// deliverability-probe@<target>).
func refusalFix(cfg Config, s *submission, from string) string {
	switch s.Stage {
	case "connect":
		return "make sure the exporter can reach " + cfg.Submission + " and the server listens there"
	case "tls", "starttls":
		return "give the submission server a certificate for " + serverName(cfg) + " that the exporter's roots (ca_file) trust, or set tls to how the server really offers TLS"
	case "auth":
		return "check username and the password in password_file, and that the account may submit mail"
	case "mail", "rcpt":
		return "allow the probe's account (or, on port 25, the exporter's address) to send as " + from + " to the probe address"
	case "data":
		return "look in the submission server's log for why it refused the message (content filter, rate limit)"
	}
	return "look in the submission server's log for the session"
}

// serverName is the name the submission server's certificate must carry:
// tls_server_name, else the host of submission (an IPv6 literal without
// its brackets).
func serverName(cfg Config) string {
	if cfg.TLSServerName != "" {
		return cfg.TLSServerName
	}
	host, _, _ := net.SplitHostPort(cfg.Submission)
	return host
}

// undecidedTrip is a round trip that could not start.
func (p *Probe) undecidedTrip(err error) *probes.Result {
	res := probes.NewResult(Name)
	res.Undecided(checkAccepted, err)
	res.SkipAll("no message was sent", allChecks[1:]...)
	return res
}

// replay copies a completed round trip's result into this run's.
func replay(dst, src *probes.Result) {
	for _, c := range src.Checks() {
		dst.Add(c)
	}
	for _, m := range src.Measurements() {
		dst.Measure(m.Spec, m.Value, m.LabelValues...)
	}
	for _, e := range src.Errors() {
		dst.Error(errors.New(e))
	}
	for _, n := range src.Notes() {
		dst.Note("%s", n)
	}
	for _, d := range src.Details() {
		dst.AddDetail(d.Title, d.Lines...)
	}
}
