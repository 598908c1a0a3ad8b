package smtpsession

import (
	"sync"
	"time"
)

// SessionMemory keeps conversations across probe requests for a module
// whose smtp probe has a min_interval. While the collector serves the smtp
// probe's last result again, the other readers of its conversations
// (spf.helo's EHLO names, MTA-STS enforce mode's certificates) take them
// from here instead of connecting: port 25 of every MX is opened at most
// once per interval, whichever probe asks.
//
// A conversation is never older than the smtp result served beside it: it
// finished before that result did, so when the result is too old to serve,
// the conversation is too old to reuse and the smtp probe talks afresh.
type SessionMemory struct {
	maxAge     time.Duration
	maxEntries int

	mu      sync.Mutex
	entries map[string]rememberedSession
}

type rememberedSession struct {
	session  *Session
	finished time.Time
}

// DefaultSessionMemoryEntries bounds the conversations a memory keeps:
// some 2,500 domains with two MX hosts of two addresses each.
const DefaultSessionMemoryEntries = 10000

// NewSessionMemory returns a memory whose conversations serve for maxAge.
func NewSessionMemory(maxAge time.Duration) *SessionMemory {
	return &SessionMemory{maxAge: maxAge, maxEntries: DefaultSessionMemoryEntries, entries: map[string]rememberedSession{}}
}

// MaxAge is how long the memory serves a conversation.
func (m *SessionMemory) MaxAge() time.Duration { return m.maxAge }

func (m *SessionMemory) get(key string, now time.Time) (*Session, bool) {
	if m == nil {
		return nil, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	if !ok {
		return nil, false
	}
	if now.Sub(e.finished) >= m.maxAge {
		delete(m.entries, key)
		return nil, false
	}
	return e.session, true
}

// put keeps a conversation; one that never started (NotProbed) is not
// kept, so the next request tries again.
func (m *SessionMemory) put(key string, s *Session, now time.Time) {
	if m == nil || s.NotProbed != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.entries) >= m.maxEntries {
		for k, e := range m.entries {
			if now.Sub(e.finished) >= m.maxAge {
				delete(m.entries, k)
			}
		}
		// Still full: drop an eighth, from a random place (Go starts each
		// map iteration at one).
		for k := range m.entries {
			if len(m.entries) <= m.maxEntries-m.maxEntries/8 {
				break
			}
			delete(m.entries, k)
		}
	}
	m.entries[key] = rememberedSession{session: s, finished: now}
}
