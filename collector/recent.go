package collector

import (
	"container/list"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// recentResults keeps each probe's last complete result per module, target
// and parameters, so a module's min_interval can serve it again instead of
// opening another port-25 connection or asking every blocklist at every
// scrape. It is bounded in entries and in bytes (least recently stored go
// first) and process-wide. A result evicted early is only run again: the
// SMTP conversations, blocklist answers and MTA-STS policies it rests on
// are kept by memories of their own.
type recentResults struct {
	mu       sync.Mutex
	max      int
	maxBytes int64
	bytes    int64
	order    *list.List // of *recentEntry, most recent at the front
	entries  map[string]*list.Element
}

type recentEntry struct {
	key      string
	result   *probes.Result
	duration time.Duration
	finished time.Time
	size     int64
}

// DefaultRecentResultsBytes bounds the results kept for min_interval in
// bytes. A fleet's results average some 3 KB once compacted (mostly their
// samples), so this keeps some 40,000 of them: the exporter of a 100,000
// domain fleet stays under 1 GiB, and runs again what it had no room for.
const DefaultRecentResultsBytes = 128 << 20

// sharedRecentResults is the process's recentResults, kept in kept.
func sharedRecentResults(kept *probes.Kept) *recentResults {
	return probes.Keep(kept, "collector.recent", nil, func() *recentResults {
		return newRecentResults(DefaultRecentResults, DefaultRecentResultsBytes)
	})
}

func newRecentResults(max int, maxBytes int64) *recentResults {
	return &recentResults{max: max, maxBytes: maxBytes, order: list.New(), entries: map[string]*list.Element{}}
}

// recentKey identifies what a result answers: the module, the probe, the
// target, the outbound IPs and the parameters the probe reads (params).
// A parameter the probe does not read cannot make a request look new.
func recentKey(module, probe string, req *probes.Request, params []string) string {
	var b strings.Builder
	b.WriteString(module + "\xff" + probe + "\xff" + req.Target.String() + "\xff")
	for _, ip := range req.OutboundIPs {
		b.WriteString(ip.String() + ",")
	}
	b.WriteString("\xff" + canonicalParams(req.Params, params))
	return b.String()
}

// canonicalParams writes the values of the named parameters in one order,
// whatever order the request gave them in.
func canonicalParams(v url.Values, names []string) string {
	keys := make([]string, 0, len(names))
	for _, k := range names {
		if _, ok := v[k]; ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		vals := append([]string(nil), v[k]...)
		sort.Strings(vals)
		b.WriteString(k + "=" + strings.Join(vals, ",") + "&")
	}
	return b.String()
}

// get returns the stored result unless the run that made it is due again
// at now (probes.Due: it started maxAge ago, or nearly).
func (r *recentResults) get(key string, maxAge time.Duration, now time.Time) (*recentEntry, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	el, ok := r.entries[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*recentEntry)
	if probes.Due(e.finished.Add(-e.duration), now, maxAge) {
		return nil, false
	}
	return e, true
}

// put stores a result. Results of probes that could not finish are not
// stored: the next scrape should try again.
func (r *recentResults) put(key string, res *probes.Result, took time.Duration, finished time.Time) {
	if res.Failed() {
		return
	}
	// Kept for the interval: its text shared with the results of the
	// other domains on the same servers (a fleet keeps 100,000 of them).
	size := int64(res.Compact() + len(key) + 128)
	if size > r.maxBytes {
		return
	}
	e := &recentEntry{key: key, result: res, duration: took, finished: finished, size: size}
	r.mu.Lock()
	defer r.mu.Unlock()
	if el, ok := r.entries[key]; ok {
		r.bytes += size - el.Value.(*recentEntry).size
		el.Value = e
		r.order.MoveToFront(el)
	} else {
		r.entries[key] = r.order.PushFront(e)
		r.bytes += size
	}
	for r.order.Len() > r.max || r.bytes > r.maxBytes {
		oldest := r.order.Back()
		r.order.Remove(oldest)
		old := oldest.Value.(*recentEntry)
		delete(r.entries, old.key)
		r.bytes -= old.size
	}
}

// Bytes is what the kept results take, as the bound counts them.
func (r *recentResults) Bytes() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bytes
}

// Len is how many results are kept.
func (r *recentResults) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.order.Len()
}
