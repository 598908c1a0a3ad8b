package probes

import (
	"testing"
	"time"
)

func TestDue(t *testing.T) {
	start := time.Date(2026, 12, 3, 6, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		interval, after time.Duration
		due             bool
	}{
		// Prometheus scraping every 5 minutes, a little early or late:
		// every scrape runs.
		{5 * time.Minute, 5*time.Minute - 20*time.Millisecond, true},
		{5 * time.Minute, 5*time.Minute + 20*time.Millisecond, true},
		{5 * time.Minute, 4*time.Minute + 31*time.Second, true},
		// Scraping every minute: served again until the fifth.
		{5 * time.Minute, 4 * time.Minute, false},
		{5 * time.Minute, 4*time.Minute + 29*time.Second, false},
		// A tenth of a short interval.
		{10 * time.Second, 8 * time.Second, false},
		{10 * time.Second, 9 * time.Second, true},
		// At most 30 seconds of a long one.
		{time.Hour, 59 * time.Minute, false},
		{time.Hour, 59*time.Minute + 30*time.Second, true},
	} {
		if got := Due(start, start.Add(tc.after), tc.interval); got != tc.due {
			t.Errorf("min_interval %v, %v after the run started: due %v, want %v", tc.interval, tc.after, got, tc.due)
		}
	}
}
