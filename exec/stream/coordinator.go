package stream

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// Coordinator injects barriers into every registered changelog and tracks,
// per view, the last epoch its Materialize committed. Epoch E is committed
// (visible to reads) once every view has committed E. It is safe for
// concurrent use.
type Coordinator struct {
	mu       sync.Mutex
	logs     []*Changelog
	views    map[string]uint64
	injected uint64
	changed  chan struct{} // closed and replaced when a view commits
}

// NewCoordinator returns a coordinator with no changelogs and no views.
func NewCoordinator() *Coordinator {
	return &Coordinator{views: map[string]uint64{}, changed: make(chan struct{})}
}

// AddChangelog makes l receive every later barrier.
func (c *Coordinator) AddChangelog(l *Changelog) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.logs = append(c.logs, l)
}

// RegisterView adds a view whose dataflow starts after epoch from (the
// epoch its sources subscribed from) and returns the committer its
// Materialize reports to.
func (c *Coordinator) RegisterView(name string, from uint64) (Committer, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.views[name]; dup {
		return nil, pgerror.Internal("stream: view %q registered twice", name)
	}
	c.views[name] = from
	return &viewCommitter{c: c, name: name}, nil
}

// DropView stops tracking a view.
func (c *Coordinator) DropView(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.views, name)
	c.notifyLocked()
}

// Injected is the last epoch whose barrier was injected.
func (c *Coordinator) Injected() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.injected
}

// Committed is the last committed epoch: the minimum over views of their
// last committed epoch (the last injected one when there are no views).
func (c *Coordinator) Committed() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.committedLocked()
}

func (c *Coordinator) committedLocked() uint64 {
	m := c.injected
	for _, e := range c.views {
		m = min(m, e)
	}
	return m
}

func (c *Coordinator) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// InjectBarrier writes the next epoch's barrier into every changelog, in one
// critical section so all logs see barriers in the same order, and returns
// the epoch.
func (c *Coordinator) InjectBarrier(checkpoint bool) (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.injected + 1
	for _, l := range c.logs {
		if err := l.AppendBarrier(Barrier{Epoch: e, Checkpoint: checkpoint}); err != nil {
			return 0, fmt.Errorf("stream: inject barrier %d: %w", e, err)
		}
	}
	c.injected = e
	return e, nil
}

// WaitCommitted blocks until epoch e is committed or ctx is done.
func (c *Coordinator) WaitCommitted(ctx context.Context, e uint64) error {
	for {
		c.mu.Lock()
		if c.committedLocked() >= e {
			c.mu.Unlock()
			return nil
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("stream: waiting for epoch %d: %w", e, ctx.Err())
		}
	}
}

// Flush injects a barrier and waits until every view has committed it
// (FLUSH). It returns the epoch.
func (c *Coordinator) Flush(ctx context.Context) (uint64, error) {
	e, err := c.InjectBarrier(false)
	if err != nil {
		return 0, err
	}
	return e, c.WaitCommitted(ctx, e)
}

// Run injects a barrier every interval until ctx is done; every
// checkpointEvery-th barrier (0: none) is a checkpoint. It returns ctx's
// error.
func (c *Coordinator) Run(ctx context.Context, interval time.Duration, checkpointEvery uint64) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			e := c.Injected() + 1
			if _, err := c.InjectBarrier(checkpointEvery > 0 && e%checkpointEvery == 0); err != nil {
				return err
			}
		}
	}
}

// Committer receives a view's commits.
type Committer interface {
	// CommitView records that the view committed epoch e and returns the
	// globally committed epoch.
	CommitView(e uint64) uint64
}

type viewCommitter struct {
	c    *Coordinator
	name string
}

func (v *viewCommitter) CommitView(e uint64) uint64 {
	c := v.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.views[v.name]; ok && e > cur {
		c.views[v.name] = e
		c.notifyLocked()
	}
	return c.committedLocked()
}
