package probes

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/deliverability-exporter/deliverability_exporter/internal/flight"
)

// Facts is the request's facts layer: what several probes of one request
// read (the mail hosts, the SMTP conversations, the TLSA answers) is
// gathered once, by whichever probe asks first, and shared. A fact that
// depends on a probe's configuration (the SMTP conversations depend on the
// smtp block) is supplied by that probe's registration as a Provider; the
// others gather themselves. Facts never cross requests; what does (the
// min_interval memories) lives in Kept.
type Facts struct {
	memo      *flight.Group[string, any]
	providers map[string]Provider
	// ctx is the request's context for the facts (nil: each asker's own).
	ctx context.Context
	// reader and declared restrict a probe's view to the facts its
	// registration declares (nil: the request-wide view, which reads all).
	reader   string
	declared map[string]bool
}

// Provider gathers a fact for a request; key tells apart the variants of
// one fact (the SMTP conversations on the SMTP port and on the
// implicit-TLS port).
type Provider func(ctx context.Context, req *Request, env *Env, key string) (any, error)

// ErrNotProvided is returned for a fact no probe of the module supplies
// (the SMTP conversations of a module without an smtp block).
var ErrNotProvided = errors.New("not provided by this module")

// NewFacts returns an empty facts layer for one request, with the
// providers the module's probes supply.
func NewFacts(providers map[string]Provider) *Facts {
	return &Facts{memo: flight.NewMemo[string, any](), providers: providers}
}

// NewRequestFacts is NewFacts for a request whose shared facts are
// gathered under ctx: the request's, ending a little before the probes' own
// deadline, so that what one probe started (an SMTP conversation) is
// settled the same way whichever probe started it, and every probe that
// reads it has time left to judge it.
func NewRequestFacts(ctx context.Context, providers map[string]Provider) *Facts {
	f := NewFacts(providers)
	f.ctx = ctx
	return f
}

// Context is the context shared facts are gathered under: the request's
// (NewRequestFacts), or fallback, the asking probe's, when there is none.
func (f *Facts) Context(fallback context.Context) context.Context {
	if f == nil || f.ctx == nil {
		return fallback
	}
	return f.ctx
}

// For returns the view of the facts a probe reads: the same facts, refusing
// any it did not declare in its registration's Needs.
func (f *Facts) For(probe string, needs []string) *Facts {
	v := *f
	v.reader = probe
	v.declared = map[string]bool{}
	for _, n := range needs {
		v.declared[n] = true
	}
	return &v
}

// WithProviders returns the same facts (what was gathered and is being
// gathered) with other providers: a test that asks one request's
// conversations with two smtp configurations.
func (f *Facts) WithProviders(providers map[string]Provider) *Facts {
	v := *f
	v.providers = providers
	return &v
}

// Provided reports whether a probe of the module supplies the named fact.
func (f *Facts) Provided(name string) bool {
	_, ok := f.providers[name]
	return ok
}

// Do returns the value of the keyed sub-fact, computing it with fn once per
// request however many probes ask at once (see flight.Group: an abandoned
// computation is made again for a caller with time left; a panic in fn is
// every caller's error). name is the fact the key belongs to; the reader
// must have declared it.
func (f *Facts) Do(ctx context.Context, name, key string, fn func() (any, error)) (any, error) {
	if err := f.permit(name); err != nil {
		return nil, err
	}
	v, err, _ := f.memo.Do(ctx, name+"\xff"+key, fn)
	var p *flight.PanicError
	if errors.As(err, &p) {
		return nil, fmt.Errorf("%s failed internally: %w", name, err)
	}
	return v, err
}

// Provide returns the named fact from the module's provider;
// ErrNotProvided when no probe of the module supplies it. A provider
// computes what it gathers once per request through Do.
func (f *Facts) Provide(ctx context.Context, req *Request, env *Env, name, key string) (any, error) {
	if err := f.permit(name); err != nil {
		return nil, err
	}
	p, ok := f.providers[name]
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, ErrNotProvided)
	}
	var out any
	err := func() (err error) {
		defer flight.Recover(&err)
		out, err = p(ctx, req, env, key)
		return err
	}()
	var pe *flight.PanicError
	if errors.As(err, &pe) {
		return nil, fmt.Errorf("%s failed internally: %w", name, err)
	}
	return out, err
}

func (f *Facts) permit(name string) error {
	if f.declared != nil && !f.declared[name] {
		return fmt.Errorf("internal: the %s probe reads the fact %q without declaring it in its registration", f.reader, name)
	}
	return nil
}

// Kept holds what outlives a request and a config: the memories probes keep
// across requests (blocklist answers, MTA-STS policies, SMTP conversations
// under min_interval). One Kept serves the process; a reload keeps it, so a
// memory and the results served beside it age together.
type Kept struct {
	mu     sync.Mutex
	values map[string]any
}

// NewKept returns an empty store.
func NewKept() *Kept { return &Kept{values: map[string]any{}} }

// Keep returns the value kept under key when it is a T for which fits is
// true (fits nil: any T), and otherwise makes, keeps and returns a new one.
// A nil Kept keeps nothing: every call makes a new value.
func Keep[T any](k *Kept, key string, fits func(T) bool, make func() T) T {
	if k == nil {
		return make()
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if v, ok := k.values[key].(T); ok && (fits == nil || fits(v)) {
		return v
	}
	v := make()
	k.values[key] = v
	return v
}

// Lookup returns the value kept under key, if it is a T.
func Lookup[T any](k *Kept, key string) (T, bool) {
	var zero T
	if k == nil {
		return zero, false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.values[key].(T)
	return v, ok
}

// Setup is what building a module's probe may use besides its block.
type Setup struct {
	// Module is the module's name.
	Module string
	// MinInterval is the module's min_interval for the probe (0: none).
	MinInterval time.Duration
	// Kept is the process-wide store (nil: nothing is kept across
	// requests).
	Kept *Kept
	// Block returns another probe's block of the same module, when the
	// module has it (nil: none is offered): a probe that judges with
	// another's machinery (delivery with the blocklists) uses the module's
	// settings for it.
	Block func(probe string) (any, bool)
}

// Registration is how a probe package declares itself to the engine: its
// name (the key of its block in a module and the probe label of its
// metrics), how to build it from its block, the facts it reads and the facts
// its configuration supplies to the other probes of its module. The engine
// lists the registrations in the order probes are reported.
type Registration struct {
	Name string
	// Needs names the facts the probe reads; reading another is an error.
	Needs []string
	// Describe returns a probe built with the block's defaults, for the
	// catalogue.
	Describe func() Describer
	// Build makes the probe from its block (a pointer to the package's
	// Config, as the config package decodes it).
	Build func(block any, s Setup) (Probe, error)
	// Provides, when set, returns the facts the probe's configuration
	// supplies to every probe of its module, by fact name.
	Provides func(block any, s Setup) map[string]Provider
}

// Register builds a Registration for a probe whose block is a C: build
// receives the decoded block (the defaults when the block was empty).
func Register[C any, P interface {
	Probe
	Describer
}](name string, needs []string, defaults func() C, build func(C, Setup) P) Registration {
	return Registration{
		Name:     name,
		Needs:    needs,
		Describe: func() Describer { return build(defaults(), Setup{}) },
		Build: func(block any, s Setup) (Probe, error) {
			c, err := blockOf[C](name, block)
			if err != nil {
				return nil, err
			}
			return build(c, s), nil
		},
	}
}

// WithProvider adds the facts the probe's block supplies.
func (r Registration) WithProvider(provides func(block any, s Setup) map[string]Provider) Registration {
	r.Provides = provides
	return r
}

// BlockOf returns the block a registration receives as a C.
func BlockOf[C any](name string, block any) (C, error) { return blockOf[C](name, block) }

func blockOf[C any](name string, block any) (C, error) {
	switch b := block.(type) {
	case *C:
		if b != nil {
			return *b, nil
		}
	case C:
		return b, nil
	}
	var zero C
	return zero, fmt.Errorf("internal: the %s probe got a %T block, want %T", name, block, zero)
}
