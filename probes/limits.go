package probes

import "fmt"

// Limits is the part of a probe request's budget the probes enforce
// themselves: how many mail hosts, addresses and reverse lookups one request
// looks at, whatever the target publishes. (The DNS client enforces the
// request's DNS questions and answer bytes; the collector its series; the
// web history the size of a kept report.) A domain under someone else's
// control can publish thousands of MX records, addresses or PTR names;
// without a bound one request would become a hundred thousand questions and
// goroutines.
//
// A check that could only look at part of its subjects because of a limit
// is never a pass: Result.Limited makes it undecided with the limit as the
// reason.
type Limits struct {
	// MXHosts is how many MX hosts (the most preferred) are looked at.
	MXHosts int
	// AddressesPerHost is how many addresses of one mail host are looked
	// at (its IPv4 addresses first).
	AddressesPerHost int
	// PTRQuestions is how many addresses get a reverse lookup (and the
	// forward confirmation of at most four of their names).
	PTRQuestions int
}

// DefaultLimits are the limits a module has unless its limits: block says
// otherwise, and those of an Env that sets none. Far above what mail
// domains publish (Google's and Microsoft's receive on at most 5 MX hosts
// with 1 to 8 addresses each), far below what a hostile domain can.
var DefaultLimits = Limits{
	MXHosts:          16,
	AddressesPerHost: 16,
	PTRQuestions:     64,
}

// OrDefault fills the limits left zero with DefaultLimits'.
func (l Limits) OrDefault() Limits {
	if l.MXHosts <= 0 {
		l.MXHosts = DefaultLimits.MXHosts
	}
	if l.AddressesPerHost <= 0 {
		l.AddressesPerHost = DefaultLimits.AddressesPerHost
	}
	if l.PTRQuestions <= 0 {
		l.PTRQuestions = DefaultLimits.PTRQuestions
	}
	return l
}

// LimitError says that a limit of the request left subjects out, so what
// was looked at cannot stand for all of them.
type LimitError struct {
	// Key is the module setting ("limits.mx_hosts").
	Key string
	// Max is its value.
	Max int
	// What says what was left out, as a clause ("example.test publishes 20
	// MX hosts; only the 16 most preferred were looked at").
	What string
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s (the module's %s is %d)", e.What, e.Key, e.Max)
}

// Limited makes the checks of specs that passed undecided, with err as the
// reason, and records err against the probe: a check that looked only at
// the subjects a limit let through cannot say all of them pass. A failed
// check stays failed (what failed, failed), an undecided one keeps its
// reason, and a skipped one stays skipped; err is recorded unless every
// check of specs was skipped. A nil err changes nothing.
func (r *Result) Limited(err error, specs ...CheckSpec) {
	if err == nil {
		return
	}
	r.mu.Lock()
	touched := false
	for _, spec := range specs {
		for i := range r.checks {
			c := &r.checks[i]
			if c.ID != spec.ID {
				continue
			}
			switch c.Status {
			case StatusPass:
				c.Status, c.Reason, c.Remediation = StatusError, err.Error(), ""
				touched = true
			case StatusFail, StatusError:
				touched = true
			}
		}
	}
	r.mu.Unlock()
	if touched {
		r.Error(err)
	}
}
