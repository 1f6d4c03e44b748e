package engine

import (
	"context"

	"github.com/sabotsql/sabotsql/exec/stream"
	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// Ingest backpressure. A table's changelog retains every change until the
// views reading it have consumed it and a barrier truncated it; a writer
// faster than its views would grow it without bound. So a statement about
// to write a table whose changelog retains more than shares.changelog waits
// first, without writeMu, until the backlog is down to half of that.
// Waiting before the statement rather than after it keeps cancellation
// honest: a statement canceled while throttled (57014) changed nothing.
// The backlog is then at most the bound plus one statement's changes per
// concurrent writer of the table.
//
// Inside a transaction block the statement waits the same way: between
// statements a block holds no engine lock (its changes are already
// published and undone by compensating changes), so its wait cannot stall
// the views it waits for.

// lockForWrite takes writeMu for a statement writing table id, after
// waiting (without it) while the table's changelog is over the changelog
// share. On error writeMu is not held.
func (e *Engine) lockForWrite(ctx context.Context, id catalog.ObjectID) error {
	waited := false
	for {
		e.writeMu.Lock()
		if waited {
			// One wait per statement: concurrent writers each add at most
			// one statement past the bound, and none starves.
			return nil
		}
		log := e.backlogged(id)
		if log == nil {
			return nil
		}
		e.writeMu.Unlock()
		if err := e.awaitBacklog(ctx, log); err != nil {
			return err
		}
		waited = true
	}
}

// backlogged returns table id's changelog when it retains more than the
// changelog share and views run to consume it (writeMu held).
func (e *Engine) backlogged(id catalog.ObjectID) *stream.Changelog {
	if e.shares.changelog <= 0 || e.st == nil {
		return nil
	}
	ts := e.table(id)
	if ts == nil || ts.log == nil || ts.log.RetainedBytes() <= e.shares.changelog {
		return nil
	}
	return ts.log
}

// awaitBacklog waits until log retains at most half the changelog share,
// asking the barrier loop for a barrier (which truncates what the views
// have read) each time the readers moved past chunks. It stops waiting when no view runs
// any more (nothing would consume the log; a failed view closes its
// subscriptions, see runView) or the log closes (the table was dropped).
func (e *Engine) awaitBacklog(ctx context.Context, log *stream.Changelog) error {
	target := e.shares.changelog / 2
	for {
		p, read := log.Backpressure(target)
		if p == nil || e.viewCount() == 0 {
			return nil
		}
		if read > 0 {
			// Only a barrier lets Truncate drop what the readers passed;
			// none is asked for when they only read barriers since.
			e.kickBarrier()
		}
		select {
		case <-p:
		case <-ctx.Done():
			return pgerror.Wrap(ctx.Err(), pgerror.QueryCanceled, "canceling statement due to user request")
		}
	}
}

func (e *Engine) viewCount() int {
	e.st.mu.RLock()
	defer e.st.mu.RUnlock()
	return len(e.st.views)
}

// kickBarrier asks the barrier loop for a barrier now (coalesced with a
// pending request).
func (e *Engine) kickBarrier() {
	select {
	case e.st.kick <- struct{}{}:
	default:
	}
}
