package web

import (
	"fmt"
	"sync"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/collector"
)

// HistoryEntry is one remembered probe request.
type HistoryEntry struct {
	ID     uint64
	Time   time.Time
	Report *collector.Report
	Logs   string
}

// History remembers the most recent probe requests (a ring of fixed size)
// so the web page can list them and show their reports.
type History struct {
	mu      sync.Mutex
	limit   int
	next    uint64
	entries []*HistoryEntry // oldest first
}

// NewHistory keeps at most limit reports; 0 keeps none.
func NewHistory(limit int) *History {
	if limit < 0 {
		limit = 0
	}
	return &History{limit: limit, next: 1}
}

// Add remembers a report and returns its id (0 when nothing is kept). A
// report with its logs larger than the module's limits.report_bytes is
// kept trimmed: without evidence, details, samples and logs (and without
// errors and notes if that is not enough), saying so; a domain with
// thousands of addresses once left a 24 MB report in the history, for
// anyone to fetch.
func (h *History) Add(r *collector.Report, logs string) uint64 {
	if h == nil || h.limit == 0 { // limit is set once, by NewHistory
		return 0
	}
	r, logs = fitReport(r, logs)
	h.mu.Lock()
	defer h.mu.Unlock()
	e := &HistoryEntry{ID: h.next, Time: r.Start, Report: r, Logs: logs}
	h.next++
	if len(h.entries) >= h.limit {
		copy(h.entries, h.entries[1:])
		h.entries = h.entries[:len(h.entries)-1]
	}
	h.entries = append(h.entries, e)
	return e.ID
}

// fitReport trims a report (and drops its logs) when together they are
// larger than the report's MaxBytes.
func fitReport(r *collector.Report, logs string) (*collector.Report, string) {
	size := r.Size() + int64(len(logs))
	if r.MaxBytes <= 0 || size <= r.MaxBytes {
		return r, logs
	}
	note := fmt.Sprintf("this report held %d bytes, more than the module's limits.report_bytes (%d): the history keeps it without evidence, details, samples and logs", size, r.MaxBytes)
	trimmed := r.Trimmed(note, false)
	if trimmed.Size() > r.MaxBytes {
		trimmed = r.Trimmed(note, true)
	}
	return trimmed, ""
}

// Get returns the entry with the id, if it is still remembered.
func (h *History) Get(id uint64) (*HistoryEntry, bool) {
	if h == nil {
		return nil, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.entries {
		if e.ID == id {
			return e, true
		}
	}
	return nil, false
}

// Recent returns the entries, newest first.
func (h *History) Recent() []*HistoryEntry {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*HistoryEntry, len(h.entries))
	for i, e := range h.entries {
		out[len(h.entries)-1-i] = e
	}
	return out
}
