package stream

import (
	"context"
	"fmt"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// Changelog is the append-only sequence of changes of one table: chunks of
// DML and the barriers the Coordinator injects between them. Subscribers
// read it from an epoch on, each at its own pace; appends never block.
//
// A Changelog is safe for concurrent use. It retains the batches appended to
// it until Truncate drops what every subscriber has read, or Release.
type Changelog struct {
	schema *arrow.Schema

	mu      sync.Mutex
	entries []Message
	// base is the absolute position of entries[0] (entries before it were
	// truncated); positions below are absolute.
	base int
	// barrierAt[e] is the position of barrier e (for Subscribe).
	barrierAt map[uint64]int
	subs      map[*Subscription]struct{}
	changed   chan struct{} // closed and replaced on every append
	// progress is closed and replaced when a subscriber reads an entry or
	// closes, on truncation, append and close (see Backpressure).
	progress chan struct{}
	closed   bool
	// retained is the bytes of the chunk batches in entries (batchBytes,
	// counted when appended, subtracted when truncated or released).
	retained int64
}

// NewChangelog returns an empty changelog of rows with the given schema.
func NewChangelog(schema *arrow.Schema) *Changelog {
	return &Changelog{schema: schema, barrierAt: map[uint64]int{}, subs: map[*Subscription]struct{}{}, changed: make(chan struct{}), progress: make(chan struct{})}
}

// Schema is the schema of the table's rows.
func (l *Changelog) Schema() *arrow.Schema { return l.schema }

func (l *Changelog) appendLocked(m Message) {
	l.entries = append(l.entries, m)
	close(l.changed)
	l.changed = make(chan struct{})
	l.signalProgressLocked()
}

func (l *Changelog) signalProgressLocked() {
	close(l.progress)
	l.progress = make(chan struct{})
}

// Append adds a chunk. The log retains c.Batch (the caller keeps its own
// reference) and copies the ops. Empty chunks are ignored.
func (l *Changelog) Append(c *Chunk) error {
	if c == nil || c.NumRows() == 0 {
		return nil
	}
	if int64(len(c.Ops)) != c.Batch.NumRows() {
		return pgerror.Internal("stream: chunk has %d ops for %d rows", len(c.Ops), c.Batch.NumRows())
	}
	if !c.Batch.Schema().Equal(l.schema) {
		return pgerror.Internal("stream: chunk schema %s does not match changelog schema %s", c.Batch.Schema(), l.schema)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return pgerror.Internal("stream: append to a closed changelog")
	}
	c.Batch.Retain()
	l.retained += chunkBytes(c)
	l.appendLocked(&Chunk{Batch: c.Batch, Ops: append([]Op(nil), c.Ops...)})
	return nil
}

// AppendBarrier adds barrier b. The Coordinator calls it; tests call it to
// place barriers on single inputs. Epochs must increase.
func (l *Changelog) AppendBarrier(b Barrier) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return pgerror.Internal("stream: barrier on a closed changelog")
	}
	if _, dup := l.barrierAt[b.Epoch]; dup || b.Epoch == 0 {
		return pgerror.Internal("stream: barrier epoch %d repeated or zero", b.Epoch)
	}
	l.barrierAt[b.Epoch] = l.base + len(l.entries)
	l.appendLocked(b)
	return nil
}

// AppendWatermark adds a watermark.
func (l *Changelog) AppendWatermark(w Watermark) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return pgerror.Internal("stream: watermark on a closed changelog")
	}
	l.appendLocked(w)
	return nil
}

// Close ends the log: subscribers that reach its end get end-of-stream.
// It releases the retained batches once no subscriber can read them; here,
// subscribers share the entries, so Close releases nothing and Release does.
func (l *Changelog) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		close(l.changed)
		l.changed = make(chan struct{})
		l.signalProgressLocked()
	}
}

// RetainedBytes is the memory of the chunk batches the log retains (the
// lengths of their buffers): what Truncate or Release would free.
func (l *Changelog) RetainedBytes() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.retained
}

// Backpressure returns a nil channel when the log retains at most limit
// bytes or is closed. Otherwise it returns a channel closed at the next
// change that may let a Truncate free more or end the wait (a subscriber
// read an entry or closed, a truncation, an append, the log closing), and
// read: the bytes of the chunks every subscriber has read, which a
// truncation at a barrier injected now would free. A writer throttled by
// the log's readers asks for a barrier (the engine kicks its barrier loop)
// only when read > 0, so readers that just passed barriers do not cause a
// storm of new ones; Backpressure itself never truncates.
func (l *Changelog) Backpressure(limit int64) (wait <-chan struct{}, read int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.retained <= limit {
		return nil, 0
	}
	end := l.base + len(l.entries)
	for s := range l.subs {
		end = min(end, s.pos)
	}
	for _, m := range l.entries[:max(end-l.base, 0)] {
		if c, ok := m.(*Chunk); ok {
			read += chunkBytes(c)
		}
	}
	return l.progress, read
}

// Release closes the log and releases the retained batches. Subscribers
// must be done with it.
func (l *Changelog) Release() {
	l.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.entries {
		ReleaseMessage(m)
	}
	l.entries = nil
	l.retained = 0
}

// Subscribe returns a reader of the log positioned right after barrier
// fromEpoch (fromEpoch 0: from the beginning). Barrier fromEpoch must have
// been appended and not truncated. Close the subscription when done, so
// Truncate can drop what it read.
func (l *Changelog) Subscribe(fromEpoch uint64) (*Subscription, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	pos := 0
	if fromEpoch > 0 {
		i, ok := l.barrierAt[fromEpoch]
		if !ok {
			return nil, pgerror.Internal("stream: subscribe from unknown epoch %d", fromEpoch)
		}
		pos = i + 1
	} else if l.base > 0 {
		return nil, pgerror.Internal("stream: subscribe from the beginning of a truncated changelog")
	}
	s := &Subscription{log: l, pos: pos}
	l.subs[s] = struct{}{}
	return s, nil
}

// Truncate drops the entries up to and including the newest barrier at or
// below e that every open subscription has read, releasing their batches,
// and returns how many it dropped. Later subscriptions can start at epochs
// ≥ that barrier only. A log that has not reached barrier e yet (a view's
// output log lags the barrier just injected) truncates at the last barrier
// it has.
func (l *Changelog) Truncate(e uint64) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	at, ok := -1, false
	for be, p := range l.barrierAt {
		if be <= e && p > at {
			at, ok = p, true
		}
	}
	if !ok {
		return 0
	}
	end := at + 1
	for s := range l.subs {
		end = min(end, s.pos)
	}
	n := end - l.base
	if n <= 0 {
		return 0
	}
	var freed int64
	for i, m := range l.entries[:n] {
		if c, ok := m.(*Chunk); ok {
			freed += chunkBytes(c)
		}
		ReleaseMessage(m)
		l.entries[i] = nil
	}
	if freed > 0 {
		l.retained -= freed
		l.signalProgressLocked()
	}
	l.entries = l.entries[n:]
	l.base = end
	for be, p := range l.barrierAt {
		// A barrier right before the new base still works for Subscribe.
		if p < end-1 {
			delete(l.barrierAt, be)
		}
	}
	return n
}

// chunkBytes is what a retained chunk holds: its batch's buffers and ops.
func chunkBytes(c *Chunk) int64 { return batchBytes(c.Batch) + int64(len(c.Ops)) }

// Len is the number of entries the log holds (after truncation).
func (l *Changelog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

// Subscription reads a Changelog in order. It is used by one goroutine.
type Subscription struct {
	log *Changelog
	pos int // absolute position of the next entry
}

// Close unregisters the subscription. It is idempotent.
func (s *Subscription) Close() {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	if _, ok := s.log.subs[s]; ok {
		delete(s.log.subs, s)
		s.log.signalProgressLocked()
	}
}

// Next returns the next entry, blocking until one is appended or ctx is
// done; (nil, nil) after the log was closed and fully read. A returned
// chunk is the caller's (it holds its own reference).
func (s *Subscription) Next(ctx context.Context) (Message, error) {
	for {
		l := s.log
		l.mu.Lock()
		if s.pos < l.base {
			l.mu.Unlock()
			return nil, pgerror.Internal("stream: subscription fell behind truncation")
		}
		if s.pos-l.base < len(l.entries) {
			m := l.entries[s.pos-l.base]
			s.pos++
			l.signalProgressLocked()
			if c, ok := m.(*Chunk); ok {
				// Retain and copy under the lock: once the position moves
				// past the entry, Truncate may release it.
				c.Batch.Retain()
				out := &Chunk{Batch: c.Batch, Ops: append([]Op(nil), c.Ops...)}
				l.mu.Unlock()
				return out, nil
			}
			l.mu.Unlock()
			return m, nil
		}
		if l.closed {
			l.mu.Unlock()
			return nil, nil
		}
		wait := l.changed
		l.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, fmt.Errorf("stream: changelog read: %w", ctx.Err())
		}
	}
}

// Source is the executor at the leaf of a dataflow: it emits a table's
// changelog from a subscription.
type Source struct {
	sub *Subscription
}

// NewSource returns a source reading sub.
func NewSource(sub *Subscription) *Source { return &Source{sub: sub} }

// Schema implements Executor.
func (s *Source) Schema() *arrow.Schema { return s.sub.log.schema }

// Next implements Executor.
func (s *Source) Next(ctx context.Context) (Message, error) { return s.sub.Next(ctx) }

// Close implements Executor: it closes the subscription.
func (s *Source) Close() error {
	s.sub.Close()
	return nil
}
