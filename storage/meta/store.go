package meta

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// FormatVersion is the version of the key layout and value encodings this
// build reads and writes. Open refuses a directory stamped with another one.
const FormatVersion uint64 = 1

// lockFileName is the store's own lock, held for the Store's whole life
// (across internal reopens of Pebble, which holds its own LOCK file too).
const lockFileName = "SABOTSQL.LOCK"

// Sentinel errors; the errors returned wrap them under a *pgerror.Error.
var (
	// ErrClosed is returned by operations on a closed Store.
	ErrClosed = errors.New("storage/meta: store is closed")
	// ErrLocked means another Store (in this or another process) has the
	// data directory open.
	ErrLocked = errors.New("data directory is locked")
	// ErrFormatVersion means the directory was written by an incompatible
	// build.
	ErrFormatVersion = errors.New("unsupported metadata format version")
	// ErrStaleEpoch means a checkpoint's epoch is not above the latest one.
	ErrStaleEpoch = errors.New("checkpoint epoch is not above the latest checkpoint")
	// ErrFailed means an earlier write or sync failed and the store could not
	// yet be reopened from disk.
	ErrFailed = errors.New("metadata store failed")
)

// Options configure Open. The zero value is usable.
type Options struct {
	// FS is the filesystem; nil means the operating system's (vfs.Default).
	// Tests inject vfs.NewCrashableMem or an errorfs wrapper here.
	FS vfs.FS
	// RetainCheckpoints is how many of the newest checkpoint manifests are
	// kept (K); older ones are deleted by CommitCheckpoint. 0 means 2.
	RetainCheckpoints int
	// Logger receives Pebble's log lines and failures; nil means
	// slog.Default().
	Logger *slog.Logger
	// MemTableSize bounds Pebble's memtable; 0 means 4 MiB (metadata is small).
	MemTableSize uint64
}

// Store is SabotSQL's metadata store. All methods are safe for concurrent
// use. Every write is one synced Pebble batch.
type Store struct {
	dir  string
	fs   vfs.FS
	opts Options
	log  *slog.Logger
	lock interface{ Close() error }

	// mu guards db, inst and closed. Writers and reopen take it exclusively,
	// readers shared: writes are serialized, which makes read-modify-write
	// sequences (NextID, CommitCheckpoint, PutTimer) atomic.
	mu     sync.RWMutex
	db     *pebble.DB
	inst   *instanceLogger // logger of the current Pebble instance
	closed bool
}

// instanceLogger adapts Pebble's logger for one Pebble instance. Pebble calls
// Fatalf on errors it cannot unwind (a failed WAL write or sync, a failed
// MANIFEST update) and expects the process to exit. Instead we record the
// first such error: the Store then quarantines that instance (no more reads
// or writes through it, since its memtable may hold unsynced data) and
// reopens the directory from what is durable.
type instanceLogger struct {
	log   *slog.Logger
	fatal atomic.Pointer[error]
}

func (l *instanceLogger) Infof(format string, args ...any) {
	l.log.Debug(fmt.Sprintf(format, args...), "component", "pebble")
}

func (l *instanceLogger) Errorf(format string, args ...any) {
	l.log.Warn(fmt.Sprintf(format, args...), "component", "pebble")
}

func (l *instanceLogger) Fatalf(format string, args ...any) {
	var cause error
	for _, a := range args {
		if e, ok := a.(error); ok {
			cause = e
			break
		}
	}
	msg := fmt.Sprintf(format, args...)
	var err error
	if cause != nil {
		err = fmt.Errorf("pebble: %s: %w", msg, cause)
	} else {
		err = fmt.Errorf("pebble: %s", msg)
	}
	l.fatal.CompareAndSwap(nil, &err)
	l.log.Error("metadata store failed; it will be reopened from disk", "component", "pebble", "err", err)
}

func (l *instanceLogger) failure() error {
	if p := l.fatal.Load(); p != nil {
		return *p
	}
	return nil
}

// Open opens (creating if needed) the metadata store in dir. It takes the
// directory lock, opens Pebble and checks the format version.
func Open(dir string, opts Options) (*Store, error) {
	if opts.FS == nil {
		opts.FS = vfs.Default
	}
	if opts.RetainCheckpoints <= 0 {
		opts.RetainCheckpoints = 2
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MemTableSize == 0 {
		opts.MemTableSize = 4 << 20
	}
	s := &Store{dir: dir, fs: opts.FS, opts: opts, log: opts.Logger.With("component", "storage/meta", "dir", dir)}
	if err := s.makeDir(); err != nil {
		return nil, err
	}
	lockPath := s.fs.PathJoin(dir, lockFileName)
	lock, err := s.fs.Lock(lockPath)
	if err != nil {
		e := pgerror.Wrap(fmt.Errorf("%w: %s: %w", ErrLocked, lockPath, err), pgerror.ObjectInUse,
			fmt.Sprintf("storage/meta: data directory %s is in use by another server or store", dir))
		return nil, e.WithHint("Stop the other server, or give this one a different data directory.")
	}
	s.lock = lock
	if err := s.openPebble(); err != nil {
		_ = lock.Close()
		return nil, err
	}
	if err := s.checkFormat(); err != nil {
		_ = s.db.Close()
		_ = lock.Close()
		return nil, err
	}
	return s, nil
}

// makeDir creates the data directory and syncs the parent of every
// directory it created, so the directory itself survives a crash (Pebble
// syncs only the directory's own entries).
func (s *Store) makeDir() error {
	var missing []string
	for p := s.dir; ; {
		if _, err := s.fs.Stat(p); err == nil {
			break
		}
		missing = append(missing, p)
		parent := s.fs.PathDir(p)
		if parent == p {
			break
		}
		p = parent
	}
	if err := s.fs.MkdirAll(s.dir, 0o755); err != nil {
		return ioError("create data directory "+s.dir, err)
	}
	for _, p := range missing {
		parent := s.fs.PathDir(p)
		d, err := s.fs.OpenDir(parent)
		if err == nil {
			err = d.Sync()
			if cerr := d.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return ioError("sync directory "+parent, err)
		}
	}
	return nil
}

// probeFileName is written, synced and removed before Pebble is opened.
const probeFileName = "SABOTSQL.PROBE"

// probe checks that the directory accepts a synced write. Pebble's Open
// flushes the replayed WAL and retries a failed flush until it succeeds, so
// opening on a failing disk would block; the probe turns the common case (a
// fault that is still present) into an error instead.
func (s *Store) probe() error {
	path := s.fs.PathJoin(s.dir, probeFileName)
	f, err := s.fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return ioError("data directory is not writable", err)
	}
	_, err = f.Write(make([]byte, 4096))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if rerr := s.fs.Remove(path); err == nil {
		err = rerr
	}
	if err != nil {
		return ioError("data directory is not writable", err)
	}
	return nil
}

// openPebble opens a Pebble instance on s.dir. Callers hold mu (or own s).
func (s *Store) openPebble() error {
	if err := s.probe(); err != nil {
		return err
	}
	inst := &instanceLogger{log: s.log}
	popts := &pebble.Options{
		FS:                 s.fs,
		Logger:             inst,
		MemTableSize:       s.opts.MemTableSize,
		FormatMajorVersion: pebble.FormatNewest,
	}
	popts.EventListener = &pebble.EventListener{
		BackgroundError: func(err error) { s.log.Warn("pebble background error", "err", err) },
	}
	db, err := pebble.Open(s.dir, popts)
	if err == nil {
		err = inst.failure()
		if err != nil {
			_ = db.Close()
		}
	}
	if err != nil {
		return ioError("open "+s.dir, err)
	}
	s.db, s.inst = db, inst
	return nil
}

// checkFormat stamps a new directory with FormatVersion or checks an
// existing stamp.
func (s *Store) checkFormat() error {
	val, found, err := s.getLocked(formatKey)
	if err != nil {
		return err
	}
	if !found {
		empty, err := s.isEmptyLocked()
		if err != nil {
			return err
		}
		if !empty {
			return pgerror.Wrap(fmt.Errorf("%w: %s holds keys but no format version", ErrFormatVersion, s.dir),
				pgerror.ObjectNotInPrerequisiteState, "storage/meta: not a SabotSQL metadata directory")
		}
		b := s.db.NewBatch()
		defer b.Close()
		if err := b.Set(formatKey, seal(formatKey, encodeUvarint(FormatVersion)), nil); err != nil {
			return ioError("stamp format version", err)
		}
		return s.commitLocked(b, "stamp format version")
	}
	d := decoder{key: formatKey, buf: val}
	v := d.uvarint("format version")
	if err := d.done(); err != nil {
		return err
	}
	if v != FormatVersion {
		return pgerror.Wrap(fmt.Errorf("%w: directory %s has version %d, this build reads version %d", ErrFormatVersion, s.dir, v, FormatVersion),
			pgerror.ObjectNotInPrerequisiteState, "storage/meta: incompatible data directory").
			WithHint("Open it with a SabotSQL build that supports metadata format version %d.", v)
	}
	return nil
}

func (s *Store) isEmptyLocked() (bool, error) {
	it, err := s.db.NewIter(nil)
	if err != nil {
		return false, ioError("scan", err)
	}
	empty := !it.First()
	if err := it.Close(); err != nil {
		return false, ioError("scan", err)
	}
	return empty, nil
}

// Close closes Pebble and releases the directory lock. Further calls fail
// with ErrClosed; Close itself is idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var err error
	if s.db != nil {
		err = s.closePebbleLocked()
	}
	if lerr := s.lock.Close(); lerr != nil && err == nil {
		err = ioError("release lock", lerr)
	}
	return err
}

func (s *Store) closePebbleLocked() error {
	db, inst := s.db, s.inst
	s.db, s.inst = nil, nil
	err := db.Close()
	if inst.failure() != nil {
		// The instance already failed; its close error only repeats that.
		return nil
	}
	if err != nil {
		return ioError("close", err)
	}
	return nil
}

// Dir returns the data directory.
func (s *Store) Dir() string { return s.dir }

// readDB returns the current healthy Pebble instance with mu held shared;
// the caller must call s.mu.RUnlock. If the instance failed, it is reopened
// first.
func (s *Store) readDB() (*pebble.DB, error) {
	for attempt := 0; ; attempt++ {
		s.mu.RLock()
		if s.closed {
			s.mu.RUnlock()
			return nil, pgerror.Wrap(ErrClosed, pgerror.ObjectNotInPrerequisiteState, "")
		}
		if s.db != nil && s.inst.failure() == nil {
			return s.db, nil
		}
		s.mu.RUnlock()
		if attempt > 0 {
			// The reopen succeeded but the new instance failed already.
			return nil, pgerror.Wrap(ErrFailed, pgerror.IOError, "storage/meta: reopen failed")
		}
		s.mu.Lock()
		err := s.recoverLocked()
		s.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
}

// writeLock takes mu exclusively and makes sure a healthy instance is open.
// On success the caller must call s.mu.Unlock.
func (s *Store) writeLock() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return pgerror.Wrap(ErrClosed, pgerror.ObjectNotInPrerequisiteState, "")
	}
	if err := s.recoverLocked(); err != nil {
		s.mu.Unlock()
		return err
	}
	return nil
}

// recoverLocked reopens Pebble if the current instance failed (or a previous
// reopen failed). The failed instance is closed first: its memtable may hold
// writes whose sync failed, and only what is durable may be read.
func (s *Store) recoverLocked() error {
	if s.db != nil && s.inst.failure() == nil {
		return nil
	}
	if s.db != nil {
		s.log.Warn("reopening metadata store after failure", "cause", s.inst.failure())
		if err := s.db.Close(); err != nil {
			s.log.Warn("closing failed pebble instance", "err", err)
		}
		s.db, s.inst = nil, nil
	}
	if err := s.openPebble(); err != nil {
		return pgerror.Wrap(fmt.Errorf("%w: %w", ErrFailed, err), pgerror.CodeOf(err), "storage/meta: reopen after failure")
	}
	if err := s.checkFormat(); err != nil {
		_ = s.db.Close()
		s.db, s.inst = nil, nil
		return err
	}
	s.log.Info("metadata store reopened")
	return nil
}

// commitLocked applies b durably. mu must be held exclusively. If Pebble
// reported a fatal error during the commit, the write failed (its outcome is
// unknown until the store is reopened) and the error says so.
func (s *Store) commitLocked(b *pebble.Batch, what string) error {
	err := b.Commit(pebble.Sync)
	if ferr := s.inst.failure(); ferr != nil {
		err = ferr
	}
	if err != nil {
		return ioError(what, err)
	}
	return nil
}

// getLocked reads key and unseals its value. mu must be held.
func (s *Store) getLocked(key []byte) ([]byte, bool, error) {
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, ioError("read "+fmtKey(key), err)
	}
	payload, uerr := unseal(key, v)
	cerr := closer.Close()
	if uerr != nil {
		return nil, false, uerr
	}
	if cerr != nil {
		return nil, false, ioError("read "+fmtKey(key), cerr)
	}
	return payload, true, nil
}

// scanLocked calls fn for every key in [lower, upper) with the unsealed
// value; fn's slices are owned by fn. mu must be held.
func (s *Store) scanLocked(lower, upper []byte, fn func(key, payload []byte) error) error {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return ioError("scan "+fmtKey(lower), err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		key := append([]byte(nil), it.Key()...)
		v, err := it.ValueAndErr()
		if err != nil {
			_ = it.Close()
			return ioError("read "+fmtKey(key), err)
		}
		payload, err := unseal(key, v)
		if err == nil {
			err = fn(key, payload)
		}
		if err != nil {
			_ = it.Close()
			return err
		}
	}
	if err := it.Close(); err != nil {
		return ioError("scan "+fmtKey(lower), err)
	}
	return nil
}

// ioError classifies a storage error: corruption → XX001, a full disk →
// 53100, anything else → 58030.
func ioError(what string, err error) error {
	if pe := pgerror.As(err); pe != nil {
		return err
	}
	code := pgerror.IOError
	switch {
	case pebble.IsCorruptionError(err):
		code = pgerror.DataCorrupted
		// Pebble's marked errors append a detail line to Error(); keep the
		// message to its first line (it names the file and block).
		msg, _, _ := strings.Cut(err.Error(), "\n")
		err = &corruption{msg: ErrCorrupt.Error() + ": " + msg, cause: err}
	case errors.Is(err, syscall.ENOSPC):
		code = pgerror.DiskFull
	}
	return pgerror.Wrap(err, code, "storage/meta: "+what)
}

// corruption wraps a Pebble corruption error: it is ErrCorrupt and unwraps to
// Pebble's error.
type corruption struct {
	msg   string
	cause error
}

func (c *corruption) Error() string        { return c.msg }
func (c *corruption) Unwrap() error        { return c.cause }
func (c *corruption) Is(target error) bool { return target == ErrCorrupt }

func encodeUvarint(v uint64) []byte {
	return binary.AppendUvarint(nil, v)
}
