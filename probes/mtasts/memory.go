package mtasts

import (
	"container/list"
	"sync"
	"time"
)

// DefaultMemoryDomains bounds a Memory made with a size under 1.
const DefaultMemoryDomains = 10000

// Memory remembers, per domain, the last MTA-STS policy the exporter
// fetched: its TXT id, a digest of its content, its max_age and when it was
// seen. It outlives probe requests and config reloads (the collector makes
// one per process), so mtasts.id_changed can tell when a policy changed
// while its id did not: senders fetch a policy again only when the id
// changes or their copy's max_age runs out (RFC 8461 §3.1, §5.1), so until
// then they hold the old content. It keeps at most its size in domains,
// forgetting the least recently probed first, and is safe for concurrent
// use.
type Memory struct {
	max int

	mu      sync.Mutex
	order   *list.List // of *memoryEntry, most recently used first
	domains map[string]*list.Element
}

type memoryEntry struct {
	domain string
	id     string
	hash   [32]byte
	maxAge time.Duration
	// since is when this content was first fetched under this id, seen
	// when it was last.
	since, seen time.Time
	// staleSince and staleUntil: other content was served under the same
	// id; senders that fetched it may hold it until staleUntil.
	staleSince, staleUntil time.Time
}

// NewMemory makes a Memory for at most maxDomains domains
// (DefaultMemoryDomains when maxDomains < 1).
func NewMemory(maxDomains int) *Memory {
	if maxDomains < 1 {
		maxDomains = DefaultMemoryDomains
	}
	return &Memory{max: maxDomains, order: list.New(), domains: map[string]*list.Element{}}
}

// Len returns how many domains are remembered.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.order.Len()
}

// Observation is what the memory says about a policy just fetched.
type Observation struct {
	// First: the domain was not remembered (never probed, or forgotten).
	First bool
	// PreviousID is the id remembered before, when it differs from the
	// current one (the domain announced a new policy).
	PreviousID string
	// Stale: the content differs from content served earlier under the
	// same id, and senders may still hold that earlier content. Since is
	// when the exporter first saw the change, Until when the last sender's
	// copy expires.
	Stale        bool
	Since, Until time.Time
	// Unchanged: the content is what senders hold under this id, served
	// since Since.
	Unchanged bool
}

// Observe records the policy fetched for domain now and says how it
// compares with what was remembered.
func (m *Memory) Observe(domain, id string, hash [32]byte, maxAge time.Duration, now time.Time) Observation {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.domains[domain]
	if !ok {
		m.domains[domain] = m.order.PushFront(&memoryEntry{domain: domain, id: id, hash: hash, maxAge: maxAge, since: now, seen: now})
		for m.order.Len() > m.max {
			oldest := m.order.Back()
			m.order.Remove(oldest)
			delete(m.domains, oldest.Value.(*memoryEntry).domain)
		}
		return Observation{First: true}
	}
	m.order.MoveToFront(el)
	e := el.Value.(*memoryEntry)
	if e.id != id {
		// A new id makes every sender fetch the policy again (RFC 8461
		// §3.1): whatever was served before no longer matters.
		prev := e.id
		*e = memoryEntry{domain: domain, id: id, hash: hash, maxAge: maxAge, since: now, seen: now}
		return Observation{PreviousID: prev}
	}
	if hash != e.hash {
		// Senders that fetched the old content until it was last seen
		// keep it for its max_age from then.
		if !now.Before(e.staleUntil) {
			e.staleSince = now
		}
		if until := e.seen.Add(e.maxAge); until.After(e.staleUntil) {
			e.staleUntil = until
		}
		e.hash, e.maxAge, e.since = hash, maxAge, now
	}
	e.seen = now
	if now.Before(e.staleUntil) {
		return Observation{Stale: true, Since: e.staleSince, Until: e.staleUntil}
	}
	return Observation{Unchanged: true, Since: e.since}
}
