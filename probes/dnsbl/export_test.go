package dnsbl

import "time"

// ChargeForTest counts one query to zone against budget at now.
func ChargeForTest(b *Budgets, zone string, budget int, now time.Time) error {
	return b.charge(zone, budget, now)
}
