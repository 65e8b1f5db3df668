package faulty

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"bbvault/internal/backend"
	"bbvault/internal/wait"
)

// ErrInjected is the error injected faults return unless a Fault sets Err.
// The retry wrapper treats it as transient.
var ErrInjected = errors.New("injected fault")

// Op names a backend operation.
type Op string

// The operations a Fault can hit; OpAny hits all of them.
const (
	OpAny    Op = ""
	OpPut    Op = "put"
	OpGet    Op = "get"
	OpStat   Op = "stat"
	OpList   Op = "list"
	OpDelete Op = "delete"
)

// Kind says what a fault does.
type Kind int

const (
	// Fail makes the call return Err without reaching the wrapped backend.
	Fail Kind = iota
	// FailAfter runs the call, then returns Err: a Put that stored the
	// object but whose reply was lost.
	FailAfter
	// Slow waits Delay before the call, or returns early with the
	// context's error.
	Slow
	// ShortReads makes the reader of a Get return a few bytes per Read.
	ShortReads
	// Truncate makes the reader of a Get end with io.EOF after After bytes.
	Truncate
	// StreamError makes the reader of a Get fail with Err after After
	// bytes, or a List fail with Err after After objects.
	StreamError
)

// Fault describes one injected fault. A call it matches (same Op unless
// OpAny, name starting with Prefix) triggers it when it is one of the
// First matching calls, or every Every-th matching call, or with
// Probability. With none of the three set, every matching call triggers it.
type Fault struct {
	Op          Op
	Kind        Kind
	Err         error // nil means ErrInjected
	Prefix      string
	First       int
	Every       int
	Probability float64
	After       int64         // Truncate, StreamError
	Delay       time.Duration // Slow
}

type faultState struct {
	Fault
	matched int
}

// Backend wraps another backend and injects faults into its calls.
type Backend struct {
	inner  backend.Backend
	mu     sync.Mutex
	rng    *rand.Rand
	faults []*faultState
	calls  map[Op]int
}

var _ backend.Backend = (*Backend)(nil)

// New wraps inner. seed fixes the random draws of Probability faults and
// short reads.
func New(inner backend.Backend, seed uint64, faults ...Fault) *Backend {
	b := &Backend{inner: inner, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), calls: make(map[Op]int)}
	for _, f := range faults {
		b.faults = append(b.faults, &faultState{Fault: f})
	}
	return b
}

// Calls returns how many calls of op the wrapper has seen (OpAny: all).
func (b *Backend) Calls(op Op) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if op == OpAny {
		total := 0
		for _, n := range b.calls {
			total += n
		}
		return total
	}
	return b.calls[op]
}

// trigger counts a call and returns the faults it triggers.
func (b *Backend) trigger(op Op, name string) []Fault {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls[op]++
	var fired []Fault
	for _, f := range b.faults {
		if (f.Op != OpAny && f.Op != op) || !strings.HasPrefix(name, f.Prefix) {
			continue
		}
		f.matched++
		if b.fires(f) {
			fired = append(fired, f.Fault)
		}
	}
	return fired
}

func (b *Backend) fires(f *faultState) bool {
	if f.First == 0 && f.Every == 0 && f.Probability == 0 {
		return true
	}
	return (f.First > 0 && f.matched <= f.First) ||
		(f.Every > 0 && f.matched%f.Every == 0) ||
		(f.Probability > 0 && b.rng.Float64() < f.Probability)
}

// before applies the faults that act before the call: Slow and Fail.
func before(ctx context.Context, op Op, name string, fired []Fault) error {
	for _, f := range fired {
		switch f.Kind {
		case Slow:
			if err := wait.Sleep(ctx, f.Delay); err != nil {
				return fmt.Errorf("%s %s: %w", op, name, err)
			}
		case Fail:
			return f.err(op, name)
		}
	}
	return nil
}

// after applies FailAfter faults to a call that succeeded.
func after(op Op, name string, fired []Fault) error {
	for _, f := range fired {
		if f.Kind == FailAfter {
			return f.err(op, name)
		}
	}
	return nil
}

func (f Fault) err(op Op, name string) error {
	if f.Err != nil {
		return fmt.Errorf("%s %s: %w", op, name, f.Err)
	}
	return fmt.Errorf("%s %s: %w", op, name, ErrInjected)
}

// Location implements backend.Backend.
func (b *Backend) Location() string { return "faulty:" + b.inner.Location() }

// Close implements backend.Backend.
func (b *Backend) Close() error { return b.inner.Close() }

// Put implements backend.Backend.
func (b *Backend) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	fired := b.trigger(OpPut, name)
	if err := before(ctx, OpPut, name, fired); err != nil {
		return err
	}
	if err := b.inner.Put(ctx, name, r, size); err != nil {
		return err
	}
	return after(OpPut, name, fired)
}

// Stat implements backend.Backend.
func (b *Backend) Stat(ctx context.Context, name string) (backend.ObjectInfo, error) {
	fired := b.trigger(OpStat, name)
	if err := before(ctx, OpStat, name, fired); err != nil {
		return backend.ObjectInfo{}, err
	}
	info, err := b.inner.Stat(ctx, name)
	if err != nil {
		return info, err
	}
	return info, after(OpStat, name, fired)
}

// Delete implements backend.Backend.
func (b *Backend) Delete(ctx context.Context, name string) error {
	fired := b.trigger(OpDelete, name)
	if err := before(ctx, OpDelete, name, fired); err != nil {
		return err
	}
	if err := b.inner.Delete(ctx, name); err != nil {
		return err
	}
	return after(OpDelete, name, fired)
}

// Leftovers implements backend.Backend; faults of OpList hit it.
func (b *Backend) Leftovers(ctx context.Context, prefix string, fn func(backend.Leftover) error) error {
	fired := b.trigger(OpList, prefix)
	if err := before(ctx, OpList, prefix, fired); err != nil {
		return err
	}
	if err := b.inner.Leftovers(ctx, prefix, fn); err != nil {
		return err
	}
	return after(OpList, prefix, fired)
}

// RemoveLeftover implements backend.Backend; faults of OpDelete hit it.
func (b *Backend) RemoveLeftover(ctx context.Context, l backend.Leftover) error {
	fired := b.trigger(OpDelete, l.Name)
	if err := before(ctx, OpDelete, l.Name, fired); err != nil {
		return err
	}
	if err := b.inner.RemoveLeftover(ctx, l); err != nil {
		return err
	}
	return after(OpDelete, l.Name, fired)
}
