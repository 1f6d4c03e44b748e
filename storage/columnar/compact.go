package columnar

import (
	"context"
	"slices"

	"github.com/sabotsql/sabotsql/storage/state"
)

// maybeCompact wakes the background compactor.
func (t *Table) maybeCompact() {
	select {
	case t.compactCh <- struct{}{}:
	default:
	}
}

func (t *Table) compactLoop(ctx context.Context) {
	defer t.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.compactCh:
		}
		for {
			did, err := t.compactOnce(ctx)
			if err != nil {
				if ctx.Err() == nil {
					t.logf("columnar: background compaction failed", err)
				}
				break
			}
			if !did {
				break
			}
		}
	}
}

// Compact runs compactions until the tiering policy picks none. Safe to call
// concurrently with the writer and readers.
func (t *Table) Compact(ctx context.Context) error {
	for {
		did, err := t.compactOnce(ctx)
		if err != nil || !did {
			return err
		}
	}
}

// CompactAll merges every run into one, dropping every version and
// tombstone no reader needs.
func (t *Table) CompactAll(ctx context.Context) error {
	t.compactMu.Lock()
	defer t.compactMu.Unlock()
	t.mu.RLock()
	n := len(t.runs)
	t.mu.RUnlock()
	if n < 2 {
		return nil
	}
	return t.compactWindow(ctx, 0, n)
}

// pickLocked chooses a contiguous window of runs (newest first) to merge:
// a tier of at least CompactionTrigger runs where each older run is at most
// twice the size of the newer runs before it, or every run when there are
// too many. ok is false when nothing needs merging.
func (t *Table) pickLocked() (lo, hi int, ok bool) {
	n := len(t.runs)
	trig := t.opts.CompactionTrigger
	if n >= 3*trig {
		return 0, n, true
	}
	for lo = 0; lo+trig <= n; lo++ {
		sum := t.runs[lo].info.Size
		hi = lo + 1
		for hi < n && t.runs[hi].info.Size <= 2*sum {
			sum += t.runs[hi].info.Size
			hi++
		}
		if hi-lo >= trig {
			return lo, hi, true
		}
	}
	return 0, 0, false
}

func (t *Table) compactOnce(ctx context.Context) (bool, error) {
	t.compactMu.Lock()
	defer t.compactMu.Unlock()
	t.mu.RLock()
	lo, hi, ok := t.pickLocked()
	t.mu.RUnlock()
	if !ok {
		return false, nil
	}
	return true, t.compactWindow(ctx, lo, hi)
}

// compactWindow merges runs[lo:hi] into one run. Runs only leave the list
// through compaction (serialized by compactMu) and flushes only prepend, so
// the window is found again by identity when installing.
func (t *Table) compactWindow(ctx context.Context, lo, hi int) error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	inputs := slices.Clone(t.runs[lo:hi])
	oldest := hi == len(t.runs)
	pinned := t.pinnedLocked()
	minReader := t.committed
	if len(pinned) > 0 {
		minReader = pinned[0]
	}
	// Range deletions every reader sees let us drop what they cover.
	var rds []rangeDel
	for _, rd := range t.rds {
		if state.Epoch(rd.Epoch) <= minReader {
			rds = append(rds, rd)
		}
	}
	id := t.nextID
	t.nextID++
	t.mu.Unlock()

	name := runFileName(id)
	var maxKeys int64
	for _, r := range inputs {
		maxKeys += r.info.Entries
	}
	w, err := newRunWriter(t.opts.FS, name, t.opts.BlockRows, int(maxKeys))
	if err != nil {
		return err
	}
	cs := make([]*mergeCursor, len(inputs))
	for i, r := range inputs {
		if cs[i], err = newMergeCursor(r); err != nil {
			w.abort()
			return err
		}
	}
	if err := mergeRuns(ctx, w, cs, rds, pinned, oldest); err != nil {
		w.abort()
		return err
	}
	t.compactedIn.Add(maxKeys)
	t.compactedOut.Add(w.entries)
	var out *run
	if w.entries == 0 {
		w.abort()
	} else {
		info, err := w.finish(id)
		if err != nil {
			return err
		}
		if out, err = openRun(t.opts.FS, info); err != nil {
			_ = t.opts.FS.Remove(name)
			return err
		}
	}

	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		if out != nil {
			_ = out.close()
			_ = t.opts.FS.Remove(name)
		}
		return nil
	}
	start := slices.Index(t.runs, inputs[0])
	next := slices.Clone(t.runs[:start])
	if out != nil {
		next = append(next, out)
	}
	next = append(next, t.runs[start+len(inputs):]...)
	t.runs = next
	var dead []*run
	for _, r := range inputs {
		if t.durableRuns[r.info.ID] {
			t.obsolete = append(t.obsolete, r)
			t.cache.dropRun(r.info.ID)
		} else {
			dead = append(dead, r)
		}
	}
	t.mu.Unlock()
	for _, r := range dead {
		t.removeRun(r)
	}
	return nil
}
