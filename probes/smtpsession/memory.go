package smtpsession

import (
	"context"
	"crypto/x509"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/internal/flight"
	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// SessionMemory keeps conversations across probe requests, for every
// module of the process whose smtp probe has a min_interval, and shares
// them across targets: what a mail server says before any domain is named
// (its greeting, its EHLO reply, the TLS version and cipher, the chain it
// serves for the SNI it was asked with) is the same whichever hosted domain
// asked, so the thousands of domains a platform hosts cost its MX addresses
// one conversation per interval, not one each. A conversation is keyed by
// what it says and where it goes (memoKey: MX name, address, port, EHLO
// name, and the RCPT TO addresses of the opt-in RCPT checks); the RCPT
// checks of postmaster@ and abuse@ name the domain, so those conversations
// stay the domain's.
//
// While the collector serves the smtp probe's last result again, the other
// readers of its conversations (spf.helo's EHLO names, MTA-STS enforce
// mode's certificates) take them from here instead of connecting: port 25
// is opened at most once per interval per conversation, whichever probe
// and whichever domain asks. Concurrent askers of one conversation, from
// any request, share it as it happens.
type SessionMemory struct {
	maxEntries int
	maxBytes   int64

	mu      sync.Mutex
	entries map[string]*heldSession
	// bytes is what the kept conversations take, as sessionSize counts
	// them.
	bytes int64
	// retain is the longest min_interval a reader has asked with: entries
	// older than it serve nobody.
	retain time.Duration

	talking *flight.Group[string, *heldSession]

	served, held atomic.Uint64
}

// heldSession is one conversation as it was held: for which target, when
// it started and finished, and the roots its chain was judged against.
type heldSession struct {
	session           *Session
	target            string
	started, finished time.Time
	roots             *x509.CertPool
	// size is what it takes in the memory (sessionSize and its key).
	size int64
}

// DefaultSessionMemoryEntries bounds the conversations the memory keeps:
// shared conversations are one per MX address (and EHLO name), so this
// holds the distinct servers of a fleet of some 50,000 self-hosted domains
// besides those of the platforms.
//
// DefaultSessionMemoryBytes bounds them in bytes as well: a conversation
// with a real server takes some 10 KB as counted (mostly its certificate
// chain), but one with a hostile server can take a hundred times that
// (replies of 64 KB each, ten large certificates), and whoever may ask
// /probe about domains of their own choosing could otherwise fill the
// entries with such conversations.
const (
	DefaultSessionMemoryEntries = 100000
	DefaultSessionMemoryBytes   = 512 << 20
)

// NewSessionMemory returns an empty memory.
func NewSessionMemory() *SessionMemory {
	return &SessionMemory{maxEntries: DefaultSessionMemoryEntries, maxBytes: DefaultSessionMemoryBytes,
		entries: map[string]*heldSession{}, talking: flight.NewGroup[string, *heldSession]()}
}

// SharedMemory is the process's one memory of conversations, kept in k so
// that it outlives reloads and serves every module.
func SharedMemory(k *probes.Kept) *SessionMemory {
	return probes.Keep(k, "smtp.sessions", nil, NewSessionMemory)
}

// Stats returns how many conversations were served from the memory (kept,
// or joined while another request held them) and how many were held.
func (m *SessionMemory) Stats() (served, held uint64) {
	if m == nil {
		return 0, 0
	}
	return m.served.Load(), m.held.Load()
}

// Bytes is what the conversations the memory holds take, as its bound
// counts them.
func (m *SessionMemory) Bytes() int64 {
	if m == nil {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.bytes
}

// Len is how many conversations the memory holds.
func (m *SessionMemory) Len() int {
	if m == nil {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// get returns the conversation kept under key if it finished less than
// maxAge before now, unless it was held for target itself and is due
// again with the target's own run (probes.Due): a target scraped as often
// as the interval would otherwise read its own conversation of the scrape
// before at every other scrape. Conversations held for other targets are
// kept the full interval, so a server hosting many domains still sees one
// conversation an interval.
func (m *SessionMemory) get(key, target string, now time.Time, maxAge time.Duration) (*heldSession, bool) {
	if m == nil {
		return nil, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	if !ok {
		return nil, false
	}
	if now.Sub(e.finished) >= maxAge {
		if now.Sub(e.finished) >= m.retain {
			m.removeLocked(key, e)
		}
		return nil, false
	}
	if e.target == target && probes.Due(e.started, now, maxAge) {
		return nil, false
	}
	return e, true
}

func (m *SessionMemory) removeLocked(key string, e *heldSession) {
	delete(m.entries, key)
	m.bytes -= e.size
}

// put keeps a conversation; one that never started (NotProbed) is not
// kept, so the next request tries again, and neither is one larger than
// the whole bound.
func (m *SessionMemory) put(key string, h *heldSession, maxAge time.Duration) {
	if m == nil || h.session.NotProbed != nil {
		return
	}
	h.size = sessionSize(h.session) + int64(len(key)+len(h.target)) + heldOverhead
	if h.size > m.maxBytes {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.retain = max(m.retain, maxAge)
	if old, ok := m.entries[key]; ok {
		m.removeLocked(key, old)
	}
	if len(m.entries) >= m.maxEntries || m.bytes+h.size > m.maxBytes {
		for k, e := range m.entries {
			if h.finished.Sub(e.finished) >= m.retain {
				m.removeLocked(k, e)
			}
		}
		// Still full: drop an eighth, from a random place (Go starts each
		// map iteration at one).
		for k, e := range m.entries {
			if len(m.entries) <= m.maxEntries-m.maxEntries/8 && m.bytes+h.size <= m.maxBytes-m.maxBytes/8 {
				break
			}
			m.removeLocked(k, e)
		}
	}
	m.entries[key] = h
	m.bytes += h.size
}

// errCutShort marks a conversation the holder's deadline cut short: the
// flight group forgets it, so a waiter with time left holds its own.
var errCutShort = errors.New("the conversation was cut short by its holder's deadline")

// session returns the conversation of key: kept (less than maxAge old),
// joined while another request holds it, or held now by talk for target.
// fresh is true when talk ran for this caller. h is nil only when ctx
// ended while this caller waited for another's conversation.
func (m *SessionMemory) session(ctx context.Context, key, target string, now func() time.Time, maxAge time.Duration,
	roots *x509.CertPool, talk func() *Session) (h *heldSession, fresh bool) {
	if h, ok := m.get(key, target, now(), maxAge); ok {
		m.served.Add(1)
		return h, false
	}
	ran := false
	h, _, _ = m.talking.Do(ctx, key, func() (*heldSession, error) {
		if h, ok := m.get(key, target, now(), maxAge); ok {
			return h, nil // kept while this asker came
		}
		ran = true
		started := now()
		s := talk()
		h := &heldSession{session: s, target: target, started: started, finished: now(), roots: roots}
		m.held.Add(1)
		if s.Aborted || s.NotProbed != nil || flight.ContextOver(ctx) {
			// Not kept; and when the holder's deadline cut it short, a
			// waiter with time left holds its own (flight.Group forgets
			// a call that failed as its asker's context ended).
			return h, errCutShort
		}
		m.put(key, h, maxAge)
		return h, nil
	})
	if h != nil && !ran && h.session.NotProbed == nil {
		m.served.Add(1) // joined; one never held (NotProbed) served nothing
	}
	return h, ran
}
