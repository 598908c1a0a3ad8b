package dnsbl

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/probes"
)

// Budgets counts the queries the process sends each list, and holds them
// to the list's daily_query_budget: lists meter their free use by the day
// (Spamhaus, Mailspike, DNSWL) and beyond it refuse, answer error codes or
// block the resolver. The count is over the last 24 hours, by the hour, so
// a spent budget refills as the hours that spent it age out. Answers from
// the process-wide Cache cost nothing and are counted apart: a fleet whose
// domains share MX hosts asks each list about each address once per TTL.
//
// One Budgets serves the process (SharedBudgets), keyed by zone: modules
// that ask the same list share its count, and each stops at its own
// budget. Replicas count their own queries: behind one resolver, give each
// its share of the list's budget.
type Budgets struct {
	mu    sync.Mutex
	lists map[string]*listBudget
	// inForce are the lists of the configuration in force and their
	// budgets (Retain); nil until a configuration is in force, when the
	// figures show every list counted.
	inForce map[string]int
}

// listBudget is one list's count.
type listBudget struct {
	// limit is the budget last configured for the zone (0: none), for the
	// metrics; a charge uses the asking module's own.
	limit int
	// sent[h%24] counts the queries of the hour h (hours since the Unix
	// epoch), valid while hour[h%24] == h.
	sent [24]uint64
	hour [24]int64

	queries, cacheHits, overBudget uint64
}

// NewBudgets returns empty counts.
func NewBudgets() *Budgets { return &Budgets{lists: map[string]*listBudget{}} }

// SharedBudgets is the process's query counts per list, kept in k across
// reloads.
func SharedBudgets(k *probes.Kept) *Budgets {
	return probes.Keep(k, "dnsbl.budgets", nil, NewBudgets)
}

// OverBudgetError says a question was not asked because the list's daily
// query budget is spent.
type OverBudgetError struct {
	Zone   string
	Budget int
	// Used is the queries sent in the last 24 hours.
	Used uint64
	// Refill is when the oldest hour of those ages out.
	Refill time.Time
}

func (e *OverBudgetError) Error() string {
	return fmt.Sprintf("not asked: the daily_query_budget of %s (%d queries) is spent, %d sent in the last 24 hours; its answers are unknown until it refills, from %s",
		e.Zone, e.Budget, e.Used, e.Refill.UTC().Format(time.RFC3339))
}

func (b *Budgets) list(zone string) *listBudget {
	lb := b.lists[zone]
	if lb == nil {
		lb = &listBudget{}
		b.lists[zone] = lb
	}
	return lb
}

// Retain makes the figures those of the lists of the configuration in
// force, with the budgets it gives them (a zone two modules give different
// budgets shows the smaller): a list a reload removed leaves the metrics,
// and a budget a configuration that failed to load would have set is not
// shown. Counts are kept whatever the configuration: a list removed and
// added back within the day still counts what it was sent.
func (b *Budgets) Retain(budgets map[string]int) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.inForce = make(map[string]int, len(budgets))
	for zone, budget := range budgets {
		b.inForce[zone] = budget
	}
}

// Configure records the budget a module gives the zone, for the metrics.
func (b *Budgets) Configure(zone string, budget int) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.list(zone).limit = budget
}

// used sums the queries of the 24 hours up to now's.
func (lb *listBudget) used(now time.Time) (n uint64, oldest int64) {
	h := now.Unix() / 3600
	oldest = h
	for i := range lb.sent {
		if age := h - lb.hour[i]; age >= 0 && age < 24 && lb.sent[i] > 0 {
			n += lb.sent[i]
			oldest = min(oldest, lb.hour[i])
		}
	}
	return n, oldest
}

// charge counts one query to zone at now, unless budget (0: none) is
// spent: then the query must not be sent.
func (b *Budgets) charge(zone string, budget int, now time.Time) error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	lb := b.list(zone)
	if budget > 0 {
		if used, oldest := lb.used(now); used >= uint64(budget) {
			lb.overBudget++
			return &OverBudgetError{Zone: zone, Budget: budget, Used: used, Refill: time.Unix((oldest+24)*3600, 0)}
		}
	}
	h := now.Unix() / 3600
	i := h % 24
	if lb.hour[i] != h {
		lb.hour[i], lb.sent[i] = h, 0
	}
	lb.sent[i]++
	lb.queries++
	return nil
}

// hit counts a question answered without a query.
func (b *Budgets) hit(zone string) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.list(zone).cacheHits++
}

// BudgetFigures are one list's counts, for the metrics.
type BudgetFigures struct {
	Zone string
	// Budget is the daily_query_budget (0: none).
	Budget int
	// Last24h is the queries sent in the last 24 hours.
	Last24h uint64
	// Queries, CacheHits and OverBudget count since the start: queries
	// sent, questions answered without one (from the process-wide cache,
	// or by joining a query in flight), questions not asked because the
	// budget was spent.
	Queries, CacheHits, OverBudget uint64
}

// Figures returns every list's counts, by zone, its access key redacted
// (RedactZone): the figures are exported as metrics.
func (b *Budgets) Figures(now time.Time) []BudgetFigures {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]BudgetFigures, 0, len(b.lists))
	for zone, lb := range b.lists {
		limit := lb.limit
		if b.inForce != nil {
			var ok bool
			if limit, ok = b.inForce[zone]; !ok {
				continue
			}
		}
		used, _ := lb.used(now)
		out = append(out, BudgetFigures{Zone: RedactZone(zone), Budget: limit, Last24h: used, Queries: lb.queries, CacheHits: lb.cacheHits, OverBudget: lb.overBudget})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Zone < out[j].Zone })
	return out
}

// listOf returns the configured list whose zone a query name is under.
func (p *Probe) listOf(name string) *List {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	var best *List
	for i := range p.cfg.Lists {
		l := &p.cfg.Lists[i]
		if strings.HasSuffix(name, "."+l.Zone) && (best == nil || len(l.Zone) > len(best.Zone)) {
			best = l
		}
	}
	return best
}
