// Package flight holds the concurrency primitives every part of the
// exporter shares: a keyed call made once however many goroutines ask for
// it (with or without remembering the outcome), goroutines whose panics
// reach the goroutine that waits for them, and the test of whether a
// context is over. They are written once here so that panic safety and the
// handling of abandoned calls are the same everywhere.
package flight

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"time"
)

// PanicError is a panic recovered on one goroutine and handed to another as
// an error (by Group) or raised again there (by Tasks).
type PanicError struct {
	Value any
	Stack []byte
}

func (p *PanicError) Error() string { return fmt.Sprintf("panic: %v", p.Value) }

// recovered wraps a recovered value, keeping a PanicError raised again by
// Tasks.Wait as it is, with the stack of the goroutine that first panicked.
func recovered(v any) *PanicError {
	if p, ok := v.(*PanicError); ok {
		return p
	}
	return &PanicError{Value: v, Stack: debug.Stack()}
}

// ContextOver reports whether ctx has ended or its deadline has passed: a
// network read that timed out at the context's deadline can return before
// the context's own timer marks it done.
func ContextOver(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// Group makes one call per key at a time, however many goroutines ask: the
// first asker runs fn under its own ctx, the others wait for its outcome or
// for their own ctx to end.
//
// A Group made by NewMemo remembers every outcome (errors included) for as
// long as the Group lives: a request-scoped cache. One made by NewGroup
// forgets an outcome once it is handed out: it only joins concurrent askers.
//
// Either way, a call whose fn failed because the first asker's ctx ended is
// abandoned: it is forgotten before its waiters wake, and a waiter whose own
// ctx still has time makes the call again. A panic in fn is recovered and
// returned to every asker as a *PanicError, so no asker waits forever and
// no goroutine of the process dies of it.
type Group[K comparable, V any] struct {
	keep bool

	mu    sync.Mutex
	calls map[K]*call[V]
}

type call[V any] struct {
	done chan struct{}
	// Written before done closes, read after.
	value     V
	err       error
	abandoned bool
}

// NewMemo returns a Group that remembers every outcome.
func NewMemo[K comparable, V any]() *Group[K, V] {
	return &Group[K, V]{keep: true, calls: map[K]*call[V]{}}
}

// NewGroup returns a Group that only joins concurrent askers.
func NewGroup[K comparable, V any]() *Group[K, V] {
	return &Group[K, V]{calls: map[K]*call[V]{}}
}

// Do returns the outcome of fn for key, running fn if no call for key is
// remembered or in flight. joined reports whether the outcome came from
// another asker's call. A waiter whose ctx ends gets ctx.Err().
func (g *Group[K, V]) Do(ctx context.Context, key K, fn func() (V, error)) (value V, err error, joined bool) {
	for {
		g.mu.Lock()
		c, ok := g.calls[key]
		if !ok {
			c = &call[V]{done: make(chan struct{})}
			g.calls[key] = c
			g.mu.Unlock()
			g.run(ctx, key, c, fn)
			return c.value, c.err, false
		}
		g.mu.Unlock()
		select {
		case <-c.done:
		case <-ctx.Done():
			var zero V
			return zero, ctx.Err(), true
		}
		if c.abandoned && !ContextOver(ctx) {
			continue // the asker gave up; this one still has time
		}
		return c.value, c.err, true
	}
}

// run makes the call and publishes its outcome. Everything waiters read is
// written before done closes, the removal of a forgotten call included; a
// panic in fn still releases them.
func (g *Group[K, V]) run(ctx context.Context, key K, c *call[V], fn func() (V, error)) {
	defer close(c.done)
	func() {
		defer func() {
			if v := recover(); v != nil {
				c.err = recovered(v)
			}
		}()
		c.value, c.err = fn()
	}()
	c.abandoned = c.err != nil && ContextOver(ctx)
	if c.abandoned || !g.keep {
		g.mu.Lock()
		if g.calls[key] == c {
			delete(g.calls, key)
		}
		g.mu.Unlock()
	}
}

// Forget drops what the Group remembers for key; a call in flight finishes
// for its askers.
func (g *Group[K, V]) Forget(key K) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.calls, key)
}

// Tasks runs goroutines and waits for them. A panic on one of them is
// recovered there and raised again by Wait, on the goroutine that waits,
// so it is handled where the work was started (a probe's panic becomes that
// probe's error) and never ends the process. The zero Tasks is ready; set
// Limit before the first Go to bound how many run at once.
type Tasks struct {
	// Limit, when positive, is how many goroutines run at once; Go blocks
	// until one of them finishes.
	Limit int

	once  sync.Once
	slots chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	panic *PanicError
}

// Go runs fn on a new goroutine.
func (t *Tasks) Go(fn func()) {
	t.once.Do(func() {
		if t.Limit > 0 {
			t.slots = make(chan struct{}, t.Limit)
		}
	})
	if t.slots != nil {
		t.slots <- struct{}{}
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		if t.slots != nil {
			defer func() { <-t.slots }()
		}
		defer func() {
			if v := recover(); v != nil {
				t.mu.Lock()
				if t.panic == nil {
					t.panic = recovered(v)
				}
				t.mu.Unlock()
			}
		}()
		fn()
	}()
}

// Wait waits for every goroutine started by Go, then raises the first
// panic one of them had, as a *PanicError.
func (t *Tasks) Wait() {
	t.wg.Wait()
	t.mu.Lock()
	p := t.panic
	t.mu.Unlock()
	if p != nil {
		panic(p)
	}
}

// Recover turns a panic into an error for a goroutine that must not die:
// deferred, it stores the panic (with its stack) in *err.
//
//	defer flight.Recover(&err)
func Recover(err *error) {
	if v := recover(); v != nil {
		*err = recovered(v)
	}
}
