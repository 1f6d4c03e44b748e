package pebblestate

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/sabotsql/sabotsql/storage/state"
)

const (
	liveDir    = "live"
	ckptPrefix = "ckpt-"
	ckptTmp    = "ckpt.tmp"
)

func ckptName(e state.Epoch) string { return fmt.Sprintf("%s%020d", ckptPrefix, uint64(e)) }

// parseCkpt returns the epoch of a complete checkpoint directory name.
func parseCkpt(name string) (state.Epoch, bool) {
	s, ok := strings.CutPrefix(name, ckptPrefix)
	if !ok || len(s) != 20 {
		return 0, false
	}
	e, err := strconv.ParseUint(s, 10, 64)
	return state.Epoch(e), err == nil
}

// Checkpoint implements state.Checkpointer: it writes a Pebble checkpoint of
// the committed state (the memtables are flushed first), publishes it by renaming
// it to ckpt-<epoch>, and removes older checkpoints. Called by the writer.
func (t *Table) Checkpoint(ctx context.Context) (state.Epoch, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.closed {
		return 0, state.ErrClosed
	}
	fs, dir, e := t.opts.FS, t.opts.Dir, t.committed
	final := fs.PathJoin(dir, ckptName(e))
	if _, err := fs.Stat(final); err == nil {
		return e, nil // this epoch is already checkpointed
	}
	tmp := fs.PathJoin(dir, ckptTmp)
	if err := fs.RemoveAll(tmp); err != nil {
		return 0, storageErr("checkpoint", dir, err)
	}
	// Without a WAL the memtables hold committed epochs only in memory:
	// flush them into sstables the checkpoint links.
	if err := t.db.Flush(); err != nil {
		return 0, storageErr("checkpoint", dir, err)
	}
	if err := t.db.Checkpoint(tmp); err != nil {
		_ = fs.RemoveAll(tmp)
		return 0, storageErr("checkpoint", dir, err)
	}
	if err := fs.Rename(tmp, final); err != nil {
		_ = fs.RemoveAll(tmp)
		return 0, storageErr("checkpoint", dir, err)
	}
	if err := syncDir(fs, dir); err != nil {
		return 0, storageErr("checkpoint", dir, err)
	}
	// Older checkpoints are now superseded; a failed removal leaves garbage
	// the next Open deletes.
	if names, err := fs.List(dir); err == nil {
		for _, n := range names {
			if old, ok := parseCkpt(n); ok && old != e {
				if err := fs.RemoveAll(fs.PathJoin(dir, n)); err != nil {
					t.opts.Logger.Warn("pebblestate: remove old checkpoint", "dir", n, "err", err)
				}
			}
		}
	}
	return e, nil
}

func syncDir(fs vfs.FS, dir string) error {
	d, err := fs.OpenDir(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// restoreLive prepares Dir/live for Open: it drops any in-progress
// checkpoint and the old live directory, and rebuilds live from the newest
// complete checkpoint (sstables hard-linked, other files copied). It returns
// that checkpoint's epoch (0 without one).
func restoreLive(fs vfs.FS, dir string) (state.Epoch, error) {
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return 0, storageErr("open", dir, err)
	}
	names, err := fs.List(dir)
	if err != nil {
		return 0, storageErr("open", dir, err)
	}
	var best string
	var epoch state.Epoch
	for _, n := range names {
		if e, ok := parseCkpt(n); ok && (best == "" || e > epoch) {
			best, epoch = n, e
		}
	}
	live := fs.PathJoin(dir, liveDir)
	for _, n := range []string{ckptTmp, liveDir, ingestFile} {
		if err := fs.RemoveAll(fs.PathJoin(dir, n)); err != nil {
			return 0, storageErr("open", dir, err)
		}
	}
	for _, n := range names {
		if _, ok := parseCkpt(n); ok && n != best {
			if err := fs.RemoveAll(fs.PathJoin(dir, n)); err != nil {
				return 0, storageErr("open", dir, err)
			}
		}
	}
	if best == "" {
		return 0, nil
	}
	if err := fs.MkdirAll(live, 0o755); err != nil {
		return 0, storageErr("open", dir, err)
	}
	src := fs.PathJoin(dir, best)
	files, err := fs.List(src)
	if err != nil {
		return 0, storageErr("open", dir, err)
	}
	for _, f := range files {
		from, to := fs.PathJoin(src, f), fs.PathJoin(live, f)
		if strings.HasSuffix(f, ".sst") || strings.HasSuffix(f, ".blob") {
			err = fs.Link(from, to)
		} else {
			err = copyFile(fs, from, to)
		}
		if err != nil {
			return 0, storageErr("restore checkpoint", src, err)
		}
	}
	if err := syncDir(fs, live); err != nil {
		return 0, storageErr("open", dir, err)
	}
	return epoch, nil
}

func copyFile(fs vfs.FS, from, to string) error {
	in, err := fs.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := fs.Create(to, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

// Flush writes Pebble's memtables to sstables (maintenance and tests; it
// does not make anything durable beyond what Checkpoint does).
func (t *Table) Flush() error {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.closed {
		return state.ErrClosed
	}
	if err := t.db.Flush(); err != nil {
		return storageErr("flush", t.opts.Dir, err)
	}
	return nil
}

// Compact compacts the whole key space (maintenance and tests).
func (t *Table) Compact(ctx context.Context) error {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.closed {
		return state.ErrClosed
	}
	if err := t.db.Compact(ctx, []byte{keyPrefix}, []byte{keyPrefix + 1}, false); err != nil {
		return storageErr("compact", t.opts.Dir, err)
	}
	return nil
}
