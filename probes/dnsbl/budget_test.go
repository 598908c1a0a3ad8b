package dnsbl_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
	"github.com/deliverability-exporter/deliverability_exporter/probes/dnsbl"
)

// TestSpentBudgetLeavesChecksUndecided: once a list's daily_query_budget
// is spent its questions are not asked, and a check that needed them is
// undecided: never "not listed" (a pass) and never "listed" (a fail),
// even for an address the list does list. Answers the cache holds stay
// free and keep deciding; the budget refills as its hours age out.
func TestSpentBudgetLeavesChecksUndecided(t *testing.T) {
	srv := startWorld(t)
	l := zen()
	// example.test's two addresses and the two test points: one request.
	l.DailyQueryBudget = 4
	cfg := config(l)
	cache := dnsbl.NewCache(100, 0)
	budgets := dnsbl.NewBudgets()
	clock := time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC)
	rq := func(target string) request {
		return request{target: target, cache: cache, budgets: budgets, now: func() time.Time { return clock }}
	}
	queried := func() int { return listQueries(srv)["zen.bl.test"] }

	res, _ := runProbe(t, srv.Addr, cfg, rq("example.test"))
	if c, _ := res.Check("dnsbl.ip"); c.Status != fail {
		t.Fatalf("within the budget: dnsbl.ip = %s (%s), want the listing", c.Status, c.Reason)
	}
	sent := queried()

	for _, tc := range []struct {
		target, why string
	}{
		{"clean.test", "a clean address"},
		{"dialup.test", "an address the list lists (198.51.100.7, PBL)"},
	} {
		res, _ := runProbe(t, srv.Addr, cfg, rq(tc.target))
		c, _ := res.Check("dnsbl.ip")
		if c.Status != undecided {
			t.Errorf("%s, budget spent: dnsbl.ip = %s (%s), want undecided", tc.why, c.Status, c.Reason)
		}
		if !strings.Contains(c.Reason, "daily_query_budget of zen.bl.test (4 queries) is spent") || !strings.Contains(c.Reason, "refills, from 2026-11-23T10:00:00Z") {
			t.Errorf("%s: reason %q does not name the spent budget and when it refills", tc.why, c.Reason)
		}
		for _, m := range res.Measurements() {
			switch m.Name() {
			case "mail_dnsbl_listed", "mail_dnsbl_return_code_info":
				t.Errorf("%s: %s%v = %v for a subject never asked", tc.why, m.Name(), m.LabelValues, m.Value)
			case "mail_dnsbl_list_error":
				if m.Value != 0 {
					t.Errorf("%s: the spent budget counted as the list's error", tc.why)
				}
			}
		}
	}
	if n := queried(); n != sent {
		t.Errorf("%d queries sent to the list after its budget was spent", n-sent)
	}

	// What the cache holds is free: example.test is still decided.
	res, _ = runProbe(t, srv.Addr, cfg, rq("example.test"))
	if c, _ := res.Check("dnsbl.ip"); c.Status != fail {
		t.Errorf("answers from the cache, budget spent: dnsbl.ip = %s (%s), want the listing", c.Status, c.Reason)
	}

	f := figures(t, budgets, clock, "zen.bl.test")
	if f.Budget != 4 || f.Queries != 4 || f.Last24h != 4 || f.OverBudget == 0 || f.CacheHits < 4 {
		t.Errorf("figures %+v: want 4 queries against a budget of 4, questions over budget, the cached answers counted as hits", f)
	}

	// A day later the hours that spent it have aged out (and the cache,
	// whose answers live an hour at most, is empty).
	clock = clock.Add(24 * time.Hour)
	res, _ = runProbe(t, srv.Addr, cfg, rq("clean.test"))
	if c, _ := res.Check("dnsbl.ip"); c.Status != pass {
		t.Errorf("a day later: dnsbl.ip = %s (%s), want a pass", c.Status, c.Reason)
	}
	if f := figures(t, budgets, clock, "zen.bl.test"); f.Last24h != 4 || f.Queries != 8 {
		t.Errorf("a day later: %d queries in the last 24 hours, %d in all; want 4 and 8", f.Last24h, f.Queries)
	}

	// Without the process cache every question is a query, and the budget
	// holds all the same.
	fresh := dnsbl.NewBudgets()
	var last *probes.Result
	for range 2 {
		last, _ = runProbe(t, srv.Addr, cfg, request{target: "clean.test", budgets: fresh, now: func() time.Time { return clock }})
	}
	if c, _ := last.Check("dnsbl.ip"); c.Status != undecided {
		t.Errorf("no cache, budget spent: dnsbl.ip = %s (%s), want undecided", c.Status, c.Reason)
	}
}

func figures(t *testing.T, b *dnsbl.Budgets, now time.Time, zone string) dnsbl.BudgetFigures {
	t.Helper()
	for _, f := range b.Figures(now) {
		if f.Zone == zone {
			return f
		}
	}
	t.Fatalf("no figures for %s", zone)
	return dnsbl.BudgetFigures{}
}

func TestBudgetRefillsByTheHour(t *testing.T) {
	b := dnsbl.NewBudgets()
	start := time.Date(2026, 11, 22, 0, 15, 0, 0, time.UTC)
	// 3 queries at 00:15, 2 at 05:15: a budget of 5 is spent.
	for i, at := range []time.Duration{0, 0, 0, 5 * time.Hour, 5 * time.Hour} {
		if err := dnsbl.ChargeForTest(b, "l.test", 5, start.Add(at)); err != nil {
			t.Fatalf("query %d: %v", i, err)
		}
	}
	err := dnsbl.ChargeForTest(b, "l.test", 5, start.Add(23*time.Hour))
	var over *dnsbl.OverBudgetError
	if !errors.As(err, &over) || over.Used != 5 || !over.Refill.Equal(time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("at 23:15 with 5 of 5 spent: %v, want over budget, refilling at the next midnight", err)
	}
	// At 00:15 the next day the first hour has aged out: 3 back.
	for i := range 3 {
		if err := dnsbl.ChargeForTest(b, "l.test", 5, start.Add(24*time.Hour)); err != nil {
			t.Fatalf("query %d after the refill: %v", i, err)
		}
	}
	if err := dnsbl.ChargeForTest(b, "l.test", 5, start.Add(24*time.Hour)); err == nil {
		t.Error("a fourth query within the refilled hour was allowed")
	}
	// Without a budget every query counts and none is refused.
	for range 10 {
		if err := dnsbl.ChargeForTest(b, "free.test", 0, start); err != nil {
			t.Fatal(err)
		}
	}
	if f := figures(t, b, start, "free.test"); f.Queries != 10 || f.Last24h != 10 || f.Budget != 0 {
		t.Errorf("figures %+v for a list without a budget", f)
	}
}
