package mtasts_test

import (
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/probes/mtasts"
)

func digest(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func TestMemoryObserve(t *testing.T) {
	m := mtasts.NewMemory(10)
	day := 24 * time.Hour
	t0 := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	a, b := digest("policy A"), digest("policy B")

	steps := []struct {
		name   string
		id     string
		hash   [32]byte
		maxAge time.Duration
		at     time.Time
		want   mtasts.Observation
	}{
		{name: "first sight", id: "1", hash: a, maxAge: day, at: t0,
			want: mtasts.Observation{First: true}},
		{name: "the same again", id: "1", hash: a, maxAge: day, at: t0.Add(time.Hour),
			want: mtasts.Observation{Unchanged: true, Since: t0}},
		// Content B under id 1: senders that fetched A up to its last
		// sighting (t0+1h) keep it for a day from then.
		{name: "changed under the same id", id: "1", hash: b, maxAge: day, at: t0.Add(2 * time.Hour),
			want: mtasts.Observation{Stale: true, Since: t0.Add(2 * time.Hour), Until: t0.Add(time.Hour + day)}},
		{name: "still stale", id: "1", hash: b, maxAge: day, at: t0.Add(20 * time.Hour),
			want: mtasts.Observation{Stale: true, Since: t0.Add(2 * time.Hour), Until: t0.Add(time.Hour + day)}},
		{name: "every old copy expired", id: "1", hash: b, maxAge: day, at: t0.Add(time.Hour + day),
			want: mtasts.Observation{Unchanged: true, Since: t0.Add(2 * time.Hour)}},
		{name: "a new id", id: "2", hash: a, maxAge: day, at: t0.Add(30 * time.Hour),
			want: mtasts.Observation{PreviousID: "1"}},
		{name: "unchanged under the new id", id: "2", hash: a, maxAge: day, at: t0.Add(31 * time.Hour),
			want: mtasts.Observation{Unchanged: true, Since: t0.Add(30 * time.Hour)}},
		// Back and forth under id 2: the window covers the copies of both
		// contents, and it started with the first change.
		{name: "changed again under id 2", id: "2", hash: b, maxAge: time.Hour, at: t0.Add(32 * time.Hour),
			want: mtasts.Observation{Stale: true, Since: t0.Add(32 * time.Hour), Until: t0.Add(31*time.Hour + day)}},
		{name: "and back", id: "2", hash: a, maxAge: day, at: t0.Add(33 * time.Hour),
			want: mtasts.Observation{Stale: true, Since: t0.Add(32 * time.Hour), Until: t0.Add(31*time.Hour + day)}},
	}
	for _, s := range steps {
		got := m.Observe("example.test", s.id, s.hash, s.maxAge, s.at)
		if got != s.want {
			t.Errorf("%s: %+v, want %+v", s.name, got, s.want)
		}
	}
}

func TestMemoryMaxAgeZeroIsNeverStale(t *testing.T) {
	// Senders do not cache a policy with max_age 0, so changing it under
	// the same id misleads nobody.
	m := mtasts.NewMemory(10)
	t0 := time.Now()
	m.Observe("example.test", "1", digest("A"), 0, t0)
	if got := m.Observe("example.test", "1", digest("B"), 0, t0.Add(time.Minute)); got.Stale || !got.Unchanged {
		t.Errorf("%+v, want unchanged", got)
	}
}

func TestMemoryEvictsLeastRecentlyProbed(t *testing.T) {
	m := mtasts.NewMemory(3)
	now := time.Now()
	for _, d := range []string{"a.test", "b.test", "c.test"} {
		m.Observe(d, "1", digest(d), time.Hour, now)
	}
	m.Observe("a.test", "1", digest("a.test"), time.Hour, now) // a is now the most recent
	m.Observe("d.test", "1", digest("d.test"), time.Hour, now) // evicts b
	if m.Len() != 3 {
		t.Errorf("Len = %d, want 3", m.Len())
	}
	if got := m.Observe("a.test", "1", digest("a.test"), time.Hour, now); got.First {
		t.Error("a.test was forgotten, though probed recently")
	}
	if got := m.Observe("b.test", "1", digest("b.test"), time.Hour, now); !got.First {
		t.Error("b.test was remembered, though the least recently probed")
	}
	if def := mtasts.NewMemory(0); def == nil {
		t.Error("NewMemory(0) returned nil")
	}
}

func TestMemoryConcurrentUse(t *testing.T) {
	m := mtasts.NewMemory(50)
	var wg sync.WaitGroup
	now := time.Now()
	for g := 0; g < 8; g++ {
		wg.Go(func() {
			for i := 0; i < 500; i++ {
				d := fmt.Sprintf("d%d.test", (g*7+i)%100)
				m.Observe(d, fmt.Sprint(i%3), digest(fmt.Sprint(i%5)), time.Hour, now.Add(time.Duration(i)*time.Second))
			}
		})
	}
	wg.Wait()
	if m.Len() != 50 {
		t.Errorf("Len = %d, want the bound 50", m.Len())
	}
}
