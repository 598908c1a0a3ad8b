package probes

import "time"

// maxDueSlack caps DueSlack.
const maxDueSlack = 30 * time.Second

// DueSlack is how much earlier than a min_interval a target's own last
// run is due again: a tenth of the interval, at most 30 seconds. Without
// it a scrape_interval equal to the min_interval would find the last
// result a little younger than the interval at every other scrape (the
// scrape before it started the run, which took time, and scrapes jitter)
// and serve it again, so the data would be refreshed every two intervals.
// Other targets' conversations a target reads are held to the full
// interval: they are what keeps a shared server at one connection per
// interval.
func DueSlack(interval time.Duration) time.Duration {
	return min(interval/10, maxDueSlack)
}

// Due reports whether a target's own last run, started at started, is due
// again at now under a min_interval of interval.
func Due(started, now time.Time, interval time.Duration) bool {
	return now.Sub(started) >= interval-DueSlack(interval)
}
