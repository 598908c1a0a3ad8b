package flight

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMemoComputesOnce(t *testing.T) {
	m := NewMemo[string, int]()
	var calls atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			v, err, _ := m.Do(context.Background(), "k", func() (int, error) {
				calls.Add(1)
				time.Sleep(10 * time.Millisecond)
				return 42, nil
			})
			if err != nil || v != 42 {
				t.Errorf("got %v, %v", v, err)
			}
		})
	}
	wg.Wait()
	if calls.Load() != 1 {
		t.Errorf("computed %d times, want once", calls.Load())
	}
	boom := errors.New("boom")
	if _, err, _ := m.Do(context.Background(), "e", func() (int, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Errorf("err = %v", err)
	}
	if _, err, joined := m.Do(context.Background(), "e", func() (int, error) { return 1, nil }); !errors.Is(err, boom) || !joined {
		t.Errorf("a remembered error was recomputed: %v (joined %v)", err, joined)
	}
}

func TestGroupForgetsOnceHandedOut(t *testing.T) {
	g := NewGroup[string, int]()
	var calls atomic.Int32
	for range 3 {
		if _, err, _ := g.Do(context.Background(), "k", func() (int, error) { return int(calls.Add(1)), nil }); err != nil {
			t.Fatal(err)
		}
	}
	if calls.Load() != 3 {
		t.Errorf("a Group that only joins concurrent askers computed %d times for 3 successive askers", calls.Load())
	}
}

func TestMemoWaiterLeavesAtItsDeadline(t *testing.T) {
	m := NewMemo[string, int]()
	release := make(chan struct{})
	computing := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Do(context.Background(), "slow", func() (int, error) { close(computing); <-release; return 1, nil })
	}()
	<-computing
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err, _ := m.Do(ctx, "slow", func() (int, error) { return 2, nil }); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the waiter's deadline", err)
	}
	close(release)
	<-done
}

// A computation abandoned at the first caller's deadline is computed again
// for a waiter with time left, without a data race on the entry.
func TestMemoAbandonedIsRecomputed(t *testing.T) {
	m := NewMemo[string, int]()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	started := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Do(ctx, "k", func() (int, error) {
			close(started)
			<-ctx.Done()
			return 0, ctx.Err()
		})
	}()
	<-started
	v, err, _ := m.Do(context.Background(), "k", func() (int, error) { return 7, nil })
	if err != nil || v != 7 {
		t.Errorf("waiter got %v, %v; want a fresh computation", v, err)
	}
	<-done
}

// A panic in the computation reaches every asker as an error; none waits
// forever and the process lives.
func TestMemoPanicIsEveryAskersError(t *testing.T) {
	m := NewMemo[string, int]()
	release := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range errs {
		wg.Go(func() {
			_, errs[i], _ = m.Do(context.Background(), "k", func() (int, error) {
				<-release
				panic("parser fell over")
			})
		})
	}
	time.Sleep(5 * time.Millisecond)
	close(release)
	wg.Wait()
	for i, err := range errs {
		var pe *PanicError
		if !errors.As(err, &pe) || pe.Value != "parser fell over" || !strings.Contains(string(pe.Stack), "flight") {
			t.Errorf("asker %d: err = %v, want the panic with its stack", i, err)
		}
	}
}

func TestTasksRaisesAPanicOnTheWaiter(t *testing.T) {
	var tasks Tasks
	var ran atomic.Int32
	tasks.Go(func() { ran.Add(1) })
	tasks.Go(func() { panic("sub-goroutine") })
	tasks.Go(func() { ran.Add(1) })
	defer func() {
		v := recover()
		pe, ok := v.(*PanicError)
		if !ok || pe.Value != "sub-goroutine" || len(pe.Stack) == 0 {
			t.Errorf("Wait raised %v, want the sub-goroutine's panic", v)
		}
		if ran.Load() != 2 {
			t.Errorf("%d other goroutines finished, want 2: Wait must wait for all", ran.Load())
		}
	}()
	tasks.Wait()
	t.Error("Wait returned without raising the panic")
}

func TestTasksLimit(t *testing.T) {
	tasks := Tasks{Limit: 2}
	var running, most atomic.Int32
	for range 10 {
		tasks.Go(func() {
			n := running.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(2 * time.Millisecond)
			running.Add(-1)
		})
	}
	tasks.Wait()
	if most.Load() > 2 {
		t.Errorf("%d ran at once under a limit of 2", most.Load())
	}
}

func TestRecover(t *testing.T) {
	err := func() (err error) {
		defer Recover(&err)
		panic(errors.New("boom"))
	}()
	var pe *PanicError
	if !errors.As(err, &pe) || pe.Error() != "panic: boom" {
		t.Errorf("err = %v", err)
	}
}

func TestContextOver(t *testing.T) {
	if ContextOver(context.Background()) {
		t.Error("a background context is over")
	}
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	if !ContextOver(ctx) {
		t.Error("a context past its deadline is not over")
	}
}
