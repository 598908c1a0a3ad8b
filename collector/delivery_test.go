package collector

import (
	"testing"
)

// TestDeliveryLentChecks: the delivery probe decides two of its checks by
// the ids of the mx and dnsbl probes' checks; they must exist.
func TestDeliveryLentChecks(t *testing.T) {
	checks, _ := Catalogue()
	ids := map[string]bool{}
	for _, c := range checks {
		ids[c.ID] = true
	}
	for _, l := range [][]string{deliveryLent.Reverse.Checks, deliveryLent.Blocklists.Checks} {
		for _, id := range l {
			if !ids[id] {
				t.Errorf("the delivery probe reads check %s, which no probe declares", id)
			}
		}
	}
}
