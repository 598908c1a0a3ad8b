package smtpsession

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestSessionMemoryServesWithinItsAgeAndStaysBounded(t *testing.T) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	m := NewSessionMemory()
	m.maxEntries = 16
	const interval = 5 * time.Minute
	h := &heldSession{session: &Session{MX: "mx.example.test"}, target: "a.example", finished: now}
	m.put("a", h, interval)
	if got, ok := m.get("a", now.Add(4*time.Minute), interval); !ok || got != h {
		t.Error("a conversation 4 minutes old was not served under a 5-minute interval")
	}
	if _, ok := m.get("a", now.Add(4*time.Minute), 2*time.Minute); ok {
		t.Error("a conversation 4 minutes old was served to a module with a 2-minute interval")
	}
	if _, ok := m.get("a", now.Add(4*time.Minute), interval); !ok {
		t.Error("a shorter interval's miss dropped a conversation a longer one still serves")
	}
	if _, ok := m.get("a", now.Add(5*time.Minute), interval); ok {
		t.Error("a conversation as old as the interval was served")
	}
	m.put("never", &heldSession{session: &Session{NotProbed: errors.New("not probed: deadline")}, finished: now}, interval)
	if _, ok := m.get("never", now, interval); ok {
		t.Error("a conversation that never happened was kept")
	}
	for i := range 100 {
		m.put(fmt.Sprint(i), h, interval)
		if n := m.Len(); n > m.maxEntries {
			t.Fatalf("%d conversations kept, more than the bound %d", n, m.maxEntries)
		}
	}
	if _, ok := m.get("99", now, interval); !ok {
		t.Error("the conversation kept last is gone")
	}
	var none *SessionMemory
	none.put("x", h, interval) // a config without a memory
	if _, ok := none.get("x", now, interval); ok {
		t.Error("a nil memory served a conversation")
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
