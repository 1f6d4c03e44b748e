package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/storage/columnar/vfs"
)

// LSN is a record's log sequence number; 0 means "none".
type LSN uint64

const (
	headerSize = 28
	recHeader  = 8
	// MaxRecord bounds a record's payload.
	MaxRecord = 1 << 30
	// DefaultSegmentSize is the size after which a new segment starts.
	DefaultSegmentSize = 16 << 20
)

var magic = [8]byte{'S', 'B', 'W', 'A', 'L', '0', '1', 0}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrClosed is returned by operations on a closed log.
var ErrClosed = errors.New("wal: log is closed")

// Options configure Open.
type Options struct {
	// FS holds the segment files (a directory of its own). Required.
	FS vfs.FS
	// SegmentSize is the size after which writes go to a new segment
	// (0: DefaultSegmentSize).
	SegmentSize int64
	// Logger receives warnings (torn tails); nil discards them.
	Logger *slog.Logger
}

// segment is one segment file found at Open or written since.
type segment struct {
	num   uint64
	first LSN
	// end is the LSN after the segment's last valid record; valid its
	// valid length in bytes (both known for closed segments).
	end   LSN
	valid int64
}

// Log is an open write-ahead log. Append, Sync, TruncateBefore and Close are
// safe for concurrent use; Replay must finish before the first Append.
type Log struct {
	fs   vfs.FS
	opts Options
	log  *slog.Logger

	mu   sync.Mutex
	cond *sync.Cond
	segs []segment // closed segments, oldest first

	cur       vfs.File
	curNum    uint64
	curFirst  LSN
	curSynced int64 // bytes of cur known durable, header included (0: header not durable)
	prevValid int64 // valid length of the segment before cur
	fresh     bool  // cur not yet created: the next write creates segment curNum
	rotate    bool  // the next write starts a new segment

	pending      []byte // encoded records after the durable prefix
	pendingFirst LSN    // LSN of the first record in pending
	next         LSN    // LSN the next Append gets
	durable      LSN    // every record below is durable
	syncing      bool
	appended     int64 // bytes appended since Open
	closed       bool
}

// segName is the file name of segment num.
func segName(num uint64) string { return fmt.Sprintf("%016d.log", num) }

func parseSegName(name string) (uint64, bool) {
	s, ok := strings.CutSuffix(name, ".log")
	if !ok || len(s) != 16 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// Open scans the segments in opts.FS, verifying every record, and returns
// the log positioned after the last valid record. A torn tail is logged and
// masked; corruption fails Open with SQLSTATE XX001.
func Open(opts Options) (*Log, error) {
	if opts.FS == nil {
		return nil, errors.New("wal: Options.FS is required")
	}
	if opts.SegmentSize <= 0 {
		opts.SegmentSize = DefaultSegmentSize
	}
	l := &Log{fs: opts.FS, opts: opts, log: opts.Logger}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	l.cond = sync.NewCond(&l.mu)
	names, err := opts.FS.List()
	if err != nil {
		return nil, ioErr("list wal segments", err)
	}
	var nums []uint64
	for _, n := range names {
		if num, ok := parseSegName(n); ok {
			nums = append(nums, num)
		}
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
	var hdrs []header
	for i := 0; i < len(nums); i++ {
		h, err := l.readHeader(nums[i])
		if err != nil {
			if i == len(nums)-1 && errors.Is(err, errTorn) {
				// The newest segment's header never became durable.
				l.log.Warn("wal: removing segment with a torn header", "file", segName(nums[i]))
				if rerr := opts.FS.Remove(segName(nums[i])); rerr != nil {
					return nil, ioErr("remove torn wal segment", rerr)
				}
				nums = nums[:i]
				break
			}
			return nil, err
		}
		hdrs = append(hdrs, h)
	}
	next := LSN(1)
	for i, num := range nums {
		limit := int64(-1)
		if i+1 < len(nums) {
			limit = hdrs[i+1].prevValid
			if hdrs[i+1].first < hdrs[i].first {
				return nil, corrupt(segName(nums[i+1]), "first LSN %d below the previous segment's %d", hdrs[i+1].first, hdrs[i].first)
			}
		}
		if i > 0 && hdrs[i].first != next {
			return nil, corrupt(segName(num), "first LSN %d, expected %d", hdrs[i].first, next)
		}
		end, valid, err := l.scan(num, hdrs[i].first, limit, nil, 0)
		if err != nil {
			return nil, err
		}
		l.segs = append(l.segs, segment{num: num, first: hdrs[i].first, end: end, valid: valid})
		next = end
	}
	l.next, l.durable, l.pendingFirst = next, next, next
	l.fresh = true
	if n := len(l.segs); n > 0 {
		l.curNum = l.segs[n-1].num + 1
		l.prevValid = l.segs[n-1].valid
	} else {
		l.curNum = 1
	}
	return l, nil
}

type header struct {
	first     LSN
	prevValid int64
}

var errTorn = errors.New("wal: torn segment header")

func (l *Log) readHeader(num uint64) (header, error) {
	f, err := l.fs.Open(segName(num))
	if err != nil {
		return header{}, ioErr("open wal segment", err)
	}
	defer f.Close()
	var b [headerSize]byte
	n, err := f.ReadAt(b[:], 0)
	if n < headerSize {
		if err != nil && !errors.Is(err, io.EOF) {
			return header{}, ioErr("read wal segment", err)
		}
		return header{}, fmt.Errorf("%w: %s", errTorn, segName(num))
	}
	if [8]byte(b[:8]) != magic || crc32.Checksum(b[:24], castagnoli) != binary.LittleEndian.Uint32(b[24:]) {
		return header{}, fmt.Errorf("%w: %s", errTorn, segName(num))
	}
	return header{first: LSN(binary.LittleEndian.Uint64(b[8:])), prevValid: int64(binary.LittleEndian.Uint64(b[16:]))}, nil
}

// scan reads segment num's records (up to limit bytes when limit >= 0;
// otherwise to the end, tolerating a torn tail), calling fn for records at
// or after from. It returns the LSN after the last valid record and the
// valid length.
func (l *Log) scan(num uint64, first LSN, limit int64, fn func(LSN, []byte) error, from LSN) (LSN, int64, error) {
	name := segName(num)
	f, err := l.fs.Open(name)
	if err != nil {
		return 0, 0, ioErr("open wal segment", err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return 0, 0, ioErr("stat wal segment", err)
	}
	if limit >= 0 {
		if limit > size {
			return 0, 0, corrupt(name, "segment has %d bytes, the next segment's header says %d are valid", size, limit)
		}
		size = limit
	}
	buf := make([]byte, size)
	if n, err := f.ReadAt(buf, 0); int64(n) < size {
		return 0, 0, ioErr("read wal segment", err)
	}
	off := int64(headerSize)
	lsn := first
	for off < size {
		p, ok := record(buf, off)
		if !ok {
			if limit >= 0 {
				return 0, 0, corrupt(name, "bad record at offset %d", off)
			}
			// A complete record follows a bad one: not a torn write.
			if nxt := off + recHeader + int64(binary.LittleEndian.Uint32(buf[off:])); off+recHeader <= size && nxt < size {
				if _, ok := record(buf, nxt); ok {
					return 0, 0, corrupt(name, "checksum mismatch at offset %d", off)
				}
			}
			l.log.Warn("wal: torn tail ignored", "file", name, "offset", off, "bytes", size-off)
			break
		}
		if fn != nil && lsn >= from {
			if err := fn(lsn, p); err != nil {
				return 0, 0, err
			}
		}
		lsn++
		off += recHeader + int64(len(p))
	}
	return lsn, off, nil
}

// record decodes the record at off, reporting false when it is incomplete
// or its checksum does not match.
func record(buf []byte, off int64) ([]byte, bool) {
	if off+recHeader > int64(len(buf)) {
		return nil, false
	}
	n := int64(binary.LittleEndian.Uint32(buf[off:]))
	if n > MaxRecord || off+recHeader+n > int64(len(buf)) {
		return nil, false
	}
	c := crc32.Update(crc32.Checksum(buf[off:off+4], castagnoli), castagnoli, buf[off+recHeader:off+recHeader+n])
	if c != binary.LittleEndian.Uint32(buf[off+4:]) {
		return nil, false
	}
	return buf[off+recHeader : off+recHeader+n], true
}

// Replay calls fn with every valid record whose LSN is at least from, in
// order. The payload is valid only during the call. Call before Append.
func (l *Log) Replay(from LSN, fn func(LSN, []byte) error) error {
	l.mu.Lock()
	segs := append([]segment(nil), l.segs...)
	l.mu.Unlock()
	for _, s := range segs {
		if s.end <= from {
			continue
		}
		// A torn tail (if any) lies past s.valid.
		if _, _, err := l.scan(s.num, s.first, s.valid, fn, from); err != nil {
			return err
		}
	}
	return nil
}

// Append adds a record and returns its LSN. It is durable only after a
// successful Sync.
func (l *Log) Append(payload []byte) (LSN, error) {
	if len(payload) > MaxRecord {
		return 0, pgerror.New(pgerror.ProgramLimitExceeded, "wal record of %d bytes exceeds the limit", len(payload))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, ErrClosed
	}
	var h [recHeader]byte
	binary.LittleEndian.PutUint32(h[:], uint32(len(payload)))
	c := crc32.Update(crc32.Checksum(h[:4], castagnoli), castagnoli, payload)
	binary.LittleEndian.PutUint32(h[4:], c)
	l.pending = append(l.pending, h[:]...)
	l.pending = append(l.pending, payload...)
	l.appended += int64(recHeader + len(payload))
	lsn := l.next
	l.next++
	return lsn, nil
}

// NextLSN is the LSN the next Append will get: every record appended so far
// is below it.
func (l *Log) NextLSN() LSN {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.next
}

// Appended is the number of bytes appended since Open.
func (l *Log) Appended() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.appended
}

// Rotate makes the next write start a new segment, so that TruncateBefore
// can later remove every segment written before.
func (l *Log) Rotate() {
	l.mu.Lock()
	l.rotate = true
	l.mu.Unlock()
}

// Sync makes every record appended before the call durable. Concurrent
// callers share one write and fsync. On error the records stay pending (not
// durable) and a later Sync retries them; the error is a *pgerror.Error
// with SQLSTATE 53100 (disk full) or 58030 (I/O error).
func (l *Log) Sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	target := l.next
	for l.durable < target {
		if l.closed {
			return ErrClosed
		}
		if l.syncing {
			l.cond.Wait()
			continue
		}
		l.syncing = true
		err := l.flushLocked()
		l.syncing = false
		l.cond.Broadcast()
		if err != nil {
			return err
		}
	}
	return nil
}

// flushLocked writes and syncs the pending records. l.mu is held on entry
// and exit but released around the I/O; l.syncing keeps other flushers out.
func (l *Log) flushLocked() error {
	if l.fresh || l.rotate || (l.curSynced >= l.opts.SegmentSize && l.curSynced > 0) {
		if l.cur != nil {
			if !l.fresh {
				l.segs = append(l.segs, segment{num: l.curNum, first: l.curFirst, end: l.pendingFirst, valid: l.curSynced})
				l.prevValid = l.curSynced
				l.curNum++
			}
			_ = l.cur.Close()
			l.cur = nil
		}
		l.fresh, l.rotate = true, false
	}
	buf := l.pending
	first := l.pendingFirst
	end := l.next
	create := l.fresh
	num, prevValid := l.curNum, l.prevValid
	cur := l.cur
	l.mu.Unlock()
	var hdr []byte
	if create {
		var h [headerSize]byte
		copy(h[:], magic[:])
		binary.LittleEndian.PutUint64(h[8:], uint64(first))
		binary.LittleEndian.PutUint64(h[16:], uint64(prevValid))
		binary.LittleEndian.PutUint32(h[24:], crc32.Checksum(h[:24], castagnoli))
		hdr = h[:]
	}
	f, err := l.write(cur, create, num, hdr, buf)
	l.mu.Lock()
	if err != nil {
		// Abandon the segment: what reached it after the durable prefix is
		// never trusted. A segment whose header never became durable is
		// recreated under the same number.
		if f != nil {
			_ = f.Close()
		}
		if cur != nil && cur != f {
			_ = cur.Close()
		}
		if !create && l.curSynced > 0 {
			l.segs = append(l.segs, segment{num: l.curNum, first: l.curFirst, end: first, valid: l.curSynced})
			l.prevValid = l.curSynced
			l.curNum++
		}
		l.cur, l.curSynced, l.fresh = nil, 0, true
		return err
	}
	if create {
		l.cur, l.curFirst, l.curSynced, l.fresh = f, first, int64(len(hdr)), false
	}
	l.curSynced += int64(len(buf))
	// Records appended meanwhile follow buf in pending.
	l.pending = append(l.pending[:0:0], l.pending[len(buf):]...)
	l.pendingFirst = end
	l.durable = end
	return nil
}

// write creates (if create) segment num and writes hdr+buf, then syncs the
// file (and the directory for a new segment).
func (l *Log) write(cur vfs.File, create bool, num uint64, hdr, buf []byte) (vfs.File, error) {
	f := cur
	if create {
		var err error
		f, err = l.fs.Create(segName(num))
		if err != nil {
			return nil, ioErr("create wal segment "+segName(num), err)
		}
	}
	data := buf
	if hdr != nil {
		data = append(append(make([]byte, 0, len(hdr)+len(buf)), hdr...), buf...)
	}
	if len(data) > 0 {
		if _, err := f.Write(data); err != nil {
			return f, ioErr("write wal segment "+segName(num), err)
		}
	}
	if err := f.Sync(); err != nil {
		return f, ioErr("fsync wal segment "+segName(num), err)
	}
	if create {
		if err := l.fs.SyncDir(); err != nil {
			return f, ioErr("sync wal directory", err)
		}
	}
	return f, nil
}

// TruncateBefore removes every closed segment whose records are all below
// lsn.
func (l *Log) TruncateBefore(lsn LSN) error {
	l.mu.Lock()
	var drop []segment
	keep := l.segs[:0:0]
	for i, s := range l.segs {
		// Without a current segment file the newest closed segment is the
		// only record of the log's position: keep it.
		if s.end <= lsn && (i < len(l.segs)-1 || !l.fresh) {
			drop = append(drop, s)
		} else {
			keep = append(keep, s)
		}
	}
	l.segs = keep
	l.mu.Unlock()
	for _, s := range drop {
		if err := l.fs.Remove(segName(s.num)); err != nil {
			return ioErr("remove wal segment "+segName(s.num), err)
		}
	}
	if len(drop) > 0 {
		if err := l.fs.SyncDir(); err != nil {
			return ioErr("sync wal directory", err)
		}
	}
	return nil
}

// Segments returns the names of the segment files the log knows, oldest
// first (for tests and tools).
func (l *Log) Segments() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, s := range l.segs {
		out = append(out, segName(s.num))
	}
	if !l.fresh {
		out = append(out, segName(l.curNum))
	}
	return out
}

// Close closes the log without syncing pending records.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.syncing {
		l.cond.Wait()
	}
	if l.closed {
		return nil
	}
	l.closed = true
	l.cond.Broadcast()
	if l.cur != nil {
		err := l.cur.Close()
		l.cur = nil
		if err != nil {
			return ioErr("close wal segment", err)
		}
	}
	return nil
}

// ioErr wraps a filesystem error with SQLSTATE 53100 for a full disk and
// 58030 otherwise.
func ioErr(what string, err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return pgerror.Wrap(err, pgerror.DiskFull, "could not "+what+": disk full")
	}
	return pgerror.Wrap(err, pgerror.IOError, "could not "+what)
}

func corrupt(file, format string, args ...any) error {
	return pgerror.New(pgerror.DataCorrupted, "wal: corrupted segment %s: %s", file, fmt.Sprintf(format, args...))
}
