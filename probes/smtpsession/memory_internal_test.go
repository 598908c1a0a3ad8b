package smtpsession

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestSessionMemoryServesWithinItsAgeAndStaysBounded(t *testing.T) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	m := NewSessionMemory(5 * time.Minute)
	m.maxEntries = 16
	s := &Session{MX: "mx.example.test"}
	m.put("a", s, now)
	if got, ok := m.get("a", now.Add(4*time.Minute)); !ok || got != s {
		t.Error("a conversation 4 minutes old was not served under a 5-minute interval")
	}
	if _, ok := m.get("a", now.Add(5*time.Minute)); ok {
		t.Error("a conversation as old as the interval was served")
	}
	m.put("never", &Session{NotProbed: errors.New("not probed: deadline")}, now)
	if _, ok := m.get("never", now); ok {
		t.Error("a conversation that never happened was kept")
	}
	for i := range 100 {
		m.put(fmt.Sprint(i), s, now)
		if n := len(m.entries); n > m.maxEntries {
			t.Fatalf("%d conversations kept, more than the bound %d", n, m.maxEntries)
		}
	}
	if _, ok := m.get("99", now); !ok {
		t.Error("the conversation kept last is gone")
	}
	var none *SessionMemory
	none.put("x", s, now) // a config without a memory
	if _, ok := none.get("x", now); ok {
		t.Error("a nil memory served a conversation")
	}
}
