package columnar

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	iofs "io/fs"
	"syscall"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/storage/columnar/vfs"
)

const (
	runMagic    = 0x4e5552544f424153 // "SABOTRUN" little-endian
	runVersion  = 1
	trailerSize = 32
	maxMetaSize = 1 << 30
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// corruptf reports corruption of a named file (XX001).
func corruptf(file, format string, args ...any) error {
	return pgerror.New(pgerror.DataCorrupted, "columnar: corrupt file %s: %s", file, fmt.Sprintf(format, args...))
}

// ioErr classifies a filesystem error: a full disk is 53100, anything else
// 58030; the cause stays reachable through errors.Is.
func ioErr(err error, what, file string) error {
	if errors.Is(err, syscall.ENOSPC) {
		return pgerror.Wrap(err, pgerror.DiskFull, fmt.Sprintf("columnar: %s %s: could not write: no space left on device", what, file))
	}
	return pgerror.Wrap(err, pgerror.IOError, fmt.Sprintf("columnar: %s %s: %v", what, file, err))
}

// blockHandle locates one block of a run file.
type blockHandle struct {
	off      uint64
	length   uint32
	crc      uint32
	rows     uint32
	firstKey []byte
}

// runInfo is what the manifest records about a run.
type runInfo struct {
	ID       uint64 `json:"id"`
	File     string `json:"file"`
	Size     int64  `json:"size"`
	Entries  int64  `json:"entries"`
	MinEpoch uint64 `json:"min_epoch"`
	MaxEpoch uint64 `json:"max_epoch"`
}

func runFileName(id uint64) string { return fmt.Sprintf("%06d.run", id) }

// runWriter streams sorted entries into a run file.
type runWriter struct {
	fs    vfs.FS
	name  string
	f     vfs.File
	off   uint64
	bb    *blockBuilder
	out   bytes.Buffer  // encoded blocks not yet written to f
	enc   *blockEncoder // appends to out
	index []blockHandle
	// bf is filled as keys arrive when the caller gave an upper bound on
	// the run's keys; otherwise hashes keeps every key's hash and the
	// filter is sized exactly at the end. Compactions of 20M-key runs
	// kept ~300 MB of hashes (with slice growth) the filter never needed.
	bf       *bloom
	hashes   []uint64
	pend     [bloomGroup]uint64 // hashes not yet added to bf
	npend    int
	keys     int    // distinct keys added
	lastKey  []byte // set by finish
	entries  int64
	minE     uint64
	maxE     uint64
	rowLimit int
	err      error
	sink     byte // keeps the flush's cache-warming loads
}

// newRunWriter creates the run file. maxKeys, when positive, bounds the
// distinct keys the run will hold (a memtable's entries, the sum of the
// input runs' entries): the Bloom filter is then sized from it and filled
// as keys arrive.
func newRunWriter(fs vfs.FS, name string, blockRows, maxKeys int) (*runWriter, error) {
	f, err := fs.Create(name)
	if err != nil {
		return nil, ioErr(err, "create", name)
	}
	w := &runWriter{fs: fs, name: name, f: f, bb: newBlockBuilder(), rowLimit: blockRows, minE: ^uint64(0)}
	if w.enc, err = newBlockEncoder(&w.out); err != nil {
		_ = f.Close()
		_ = fs.Remove(name)
		return nil, err
	}
	if maxKeys > 0 {
		w.bf = newBloomUpTo(maxKeys)
	}
	return w, nil
}

// add appends one entry; entries arrive sorted by key asc, epoch desc.
func (w *runWriter) add(key []byte, epoch uint64, tomb bool, val []byte) error {
	// A key is new unless it is the block's last one: blocks are cut only
	// between keys, so a key's versions share a block.
	if bb := w.bb; bb.rows == 0 || !bytes.Equal(key, bb.kdata[bb.koffs[bb.rows-1]:]) {
		return w.addKey(key, epoch, tomb, val)
	}
	if w.err != nil {
		return w.err
	}
	w.addRow(key, epoch, tomb, val)
	return nil
}

// addKey is add for the newest entry of a key the caller knows to be
// greater than every key added before (no comparison with the last one).
func (w *runWriter) addKey(key []byte, epoch uint64, tomb bool, val []byte) error {
	if w.err != nil {
		return w.err
	}
	if w.bb.rows >= w.rowLimit {
		if err := w.flushBlock(); err != nil {
			return err
		}
	}
	w.keys++
	if w.bf != nil {
		w.pend[w.npend] = hashKey(key)
		if w.npend++; w.npend == bloomGroup {
			w.sink += w.bf.addHashes(w.pend[:])
			w.npend = 0
		}
	} else {
		w.hashes = append(w.hashes, hashKey(key))
	}
	w.addRow(key, epoch, tomb, val)
	return nil
}

func (w *runWriter) addRow(key []byte, epoch uint64, tomb bool, val []byte) {
	w.bb.add(key, epoch, tomb, val)
	w.entries++
	w.minE = min(w.minE, epoch)
	w.maxE = max(w.maxE, epoch)
}

func (w *runWriter) flushBlock() error {
	if w.bb.rows == 0 {
		return nil
	}
	rows, firstKey := w.bb.rows, bytes.Clone(w.bb.kdata[:w.bb.koffs[1]])
	start := w.out.Len()
	if err := w.enc.encodeBuilder(w.bb); err != nil {
		w.err = err
		return err
	}
	data := w.out.Bytes()[start:]
	w.index = append(w.index, blockHandle{
		off: w.off, length: uint32(len(data)), crc: crc32.Checksum(data, castagnoli),
		rows: uint32(rows), firstKey: firstKey,
	})
	w.off += uint64(len(data))
	if w.out.Len() >= runWriteBuffer {
		return w.writeOut()
	}
	return nil
}

// bloomGroup is the number of keys a run writer adds to its Bloom filter
// at once (bloom.addHashes).
const bloomGroup = 32

// runWriteBuffer is the size of the writes a run writer issues.
const runWriteBuffer = 1 << 20

// writeOut writes the buffered blocks to the file.
func (w *runWriter) writeOut() error {
	if w.out.Len() == 0 {
		return nil
	}
	if _, err := w.f.Write(w.out.Bytes()); err != nil {
		w.err = ioErr(err, "write", w.name)
		return w.err
	}
	w.out.Reset()
	return nil
}

// finish writes the meta section and trailer and closes the file, without
// syncing it: a run is synced only when a manifest is about to name it
// (Table.syncRuns), so runs that a compaction replaces before the next
// checkpoint never cost a sync. On error the partial file is removed.
func (w *runWriter) finish(id uint64) (runInfo, error) {
	if bb := w.bb; bb.rows > 0 {
		w.lastKey = bytes.Clone(bb.kdata[bb.koffs[bb.rows-1]:])
	}
	err := w.flushBlock()
	if err == nil {
		err = w.writeOut()
	}
	if err == nil {
		err = w.writeMeta()
	}
	if cerr := w.f.Close(); err == nil && cerr != nil {
		err = ioErr(cerr, "close", w.name)
	}
	if err != nil {
		_ = w.fs.Remove(w.name)
		return runInfo{}, err
	}
	if w.entries == 0 {
		w.minE = 0
	}
	return runInfo{ID: id, File: w.name, Size: int64(w.off), Entries: w.entries, MinEpoch: w.minE, MaxEpoch: w.maxE}, nil
}

// abort discards the partial file.
func (w *runWriter) abort() {
	_ = w.f.Close()
	_ = w.fs.Remove(w.name)
}

func (w *runWriter) writeMeta() error {
	var m []byte
	m = binary.LittleEndian.AppendUint32(m, uint32(len(w.index)))
	for _, h := range w.index {
		m = binary.LittleEndian.AppendUint64(m, h.off)
		m = binary.LittleEndian.AppendUint32(m, h.length)
		m = binary.LittleEndian.AppendUint32(m, h.crc)
		m = binary.LittleEndian.AppendUint32(m, h.rows)
		m = binary.AppendUvarint(m, uint64(len(h.firstKey)))
		m = append(m, h.firstKey...)
	}
	m = binary.AppendUvarint(m, uint64(len(w.lastKey)))
	m = append(m, w.lastKey...)
	m = binary.LittleEndian.AppendUint64(m, uint64(w.entries))
	m = binary.LittleEndian.AppendUint64(m, w.minE)
	m = binary.LittleEndian.AppendUint64(m, w.maxE)
	bf := w.bf
	if bf != nil {
		w.sink += bf.addHashes(w.pend[:w.npend])
		w.npend = 0
		bf.fold(w.keys)
	} else {
		bf = newBloom(len(w.hashes))
		for _, h := range w.hashes {
			bf.addHash(h)
		}
	}
	m = binary.LittleEndian.AppendUint32(m, bf.k)
	m = binary.AppendUvarint(m, uint64(len(bf.bits)))
	m = append(m, bf.bits...)

	var t [trailerSize]byte
	binary.LittleEndian.PutUint64(t[0:], w.off)
	binary.LittleEndian.PutUint32(t[8:], uint32(len(m)))
	binary.LittleEndian.PutUint32(t[12:], crc32.Checksum(m, castagnoli))
	binary.LittleEndian.PutUint32(t[16:], runVersion)
	binary.LittleEndian.PutUint64(t[24:], runMagic)
	if _, err := w.f.Write(append(m, t[:]...)); err != nil {
		return ioErr(err, "write", w.name)
	}
	w.off += uint64(len(m) + trailerSize)
	return nil
}

// run is an open, immutable run file.
type run struct {
	info    runInfo
	f       vfs.File
	index   []blockHandle
	lastKey []byte
	bloom   *bloom
	// synced: the file's contents are durable (it was recovered, or
	// synced before a manifest named it). Guarded by the table's mu.
	synced bool
	// prefixes holds the first 16 bytes of each block's first key as two
	// big-endian words (zero-padded), two per block: findBlock's binary
	// search compares these in one dense array and touches a full key only
	// on equal prefixes.
	prefixes []uint64
}

// keyPrefix is the first 16 bytes of k as two big-endian words, zero-padded.
// A strictly smaller (larger) prefix means a smaller (larger) key; equal
// prefixes need the full keys.
func keyPrefix(k []byte) (uint64, uint64) {
	var b [16]byte
	copy(b[:], k)
	return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
}

// openRun opens and validates a run's trailer and meta section.
func openRun(fs vfs.FS, info runInfo) (*run, error) {
	f, err := fs.Open(info.File)
	if errors.Is(err, iofs.ErrNotExist) {
		return nil, corruptf(info.File, "named by the manifest but missing")
	}
	if err != nil {
		return nil, ioErr(err, "open", info.File)
	}
	r, err := parseRun(f, info)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return r, nil
}

func parseRun(f vfs.File, info runInfo) (*run, error) {
	name := info.File
	size, err := f.Size()
	if err != nil {
		return nil, ioErr(err, "stat", name)
	}
	if size != info.Size {
		return nil, corruptf(name, "size %d, manifest says %d (truncated?)", size, info.Size)
	}
	if size < trailerSize {
		return nil, corruptf(name, "too short for a trailer (%d bytes)", size)
	}
	var t [trailerSize]byte
	if _, err := f.ReadAt(t[:], size-trailerSize); err != nil {
		return nil, corruptf(name, "read trailer: %v", err)
	}
	if binary.LittleEndian.Uint64(t[24:]) != runMagic {
		return nil, corruptf(name, "bad magic")
	}
	if v := binary.LittleEndian.Uint32(t[16:]); v != runVersion {
		return nil, corruptf(name, "unknown format version %d", v)
	}
	metaOff := binary.LittleEndian.Uint64(t[0:])
	metaLen := binary.LittleEndian.Uint32(t[8:])
	if metaLen > maxMetaSize || metaOff+uint64(metaLen)+trailerSize != uint64(size) {
		return nil, corruptf(name, "meta section [%d,+%d) does not fit file of %d bytes", metaOff, metaLen, size)
	}
	m := make([]byte, metaLen)
	if _, err := f.ReadAt(m, int64(metaOff)); err != nil {
		return nil, corruptf(name, "read meta: %v", err)
	}
	if crc32.Checksum(m, castagnoli) != binary.LittleEndian.Uint32(t[12:]) {
		return nil, corruptf(name, "meta checksum mismatch")
	}
	d := decoder{b: m}
	r := &run{info: info, f: f}
	n := d.u32()
	if uint64(n) > uint64(len(m)) {
		return nil, corruptf(name, "block count %d", n)
	}
	prevEnd := uint64(0)
	for i := uint32(0); i < n && d.err == nil; i++ {
		h := blockHandle{off: d.u64(), length: d.u32(), crc: d.u32(), rows: d.u32()}
		h.firstKey = d.bytes()
		if d.err == nil && (h.off != prevEnd || h.off+uint64(h.length) > metaOff) {
			return nil, corruptf(name, "block %d at [%d,+%d) out of place", i, h.off, h.length)
		}
		prevEnd = h.off + uint64(h.length)
		r.index = append(r.index, h)
	}
	r.lastKey = d.bytes()
	entries, minE, maxE := d.u64(), d.u64(), d.u64()
	bf := &bloom{k: d.u32()}
	bf.bits = d.bytes()
	if d.err != nil || len(d.b) != 0 {
		return nil, corruptf(name, "malformed meta section")
	}
	if prevEnd != metaOff {
		return nil, corruptf(name, "blocks end at %d, meta starts at %d", prevEnd, metaOff)
	}
	if int64(entries) != info.Entries || minE != info.MinEpoch || maxE != info.MaxEpoch {
		return nil, corruptf(name, "stats disagree with the manifest")
	}
	if bf.k == 0 || bf.k > 7 || len(bf.bits)%bloomBlock != 0 {
		return nil, corruptf(name, "bloom filter shape (%d probes, %d bytes)", bf.k, len(bf.bits))
	}
	r.bloom = bf
	r.prefixes = make([]uint64, 0, 2*len(r.index))
	for _, h := range r.index {
		p0, p1 := keyPrefix(h.firstKey)
		r.prefixes = append(r.prefixes, p0, p1)
	}
	return r, nil
}

// findBlock returns the block that would hold k, or -1.
func (r *run) findBlock(k []byte) int {
	if len(r.index) == 0 || bytes.Compare(k, r.lastKey) > 0 {
		return -1
	}
	k0, k1 := keyPrefix(k)
	// The first block whose first key is > k, less one.
	lo, hi := 0, len(r.index)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		p0, p1 := r.prefixes[2*mid], r.prefixes[2*mid+1]
		var gt bool
		switch {
		case p0 != k0:
			gt = p0 > k0
		case p1 != k1:
			gt = p1 > k1
		default:
			gt = bytes.Compare(r.index[mid].firstKey, k) > 0
		}
		if gt {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo - 1
}

// readBlock reads, verifies and decodes block i into a new buffer.
func (r *run) readBlock(i int) (*block, error) { return r.readBlockInto(i, nil, false) }

// readBlockInto is readBlock reading into buf when it is large enough (the
// block then aliases buf: the caller must not reuse buf while the block or
// any slice of it is in use). With lazy the offsets are not verified
// (decodeBlockLazy): the block is for versionIn, or for verify.
func (r *run) readBlockInto(i int, buf []byte, lazy bool) (*block, error) {
	h := r.index[i]
	data := buf
	if cap(data) < int(h.length) {
		data = make([]byte, h.length)
	}
	data = data[:h.length]
	if _, err := r.f.ReadAt(data, int64(h.off)); err != nil {
		return nil, corruptf(r.info.File, "read block %d: %v", i, err)
	}
	return r.decodeBlockAt(i, data, lazy)
}

// decodeBlockAt verifies and decodes data, the bytes of block i read from
// the file.
func (r *run) decodeBlockAt(i int, data []byte, lazy bool) (*block, error) {
	h := r.index[i]
	if crc32.Checksum(data, castagnoli) != h.crc {
		return nil, corruptf(r.info.File, "block %d checksum mismatch", i)
	}
	decode := decodeBlock
	if lazy {
		decode = decodeBlockLazy
	}
	b, err := decode(data)
	if err != nil {
		return nil, corruptf(r.info.File, "block %d: %v", i, err)
	}
	if uint32(b.len()) != h.rows {
		return nil, corruptf(r.info.File, "block %d has %d rows, index says %d", i, b.len(), h.rows)
	}
	return b, nil
}

func (r *run) close() error { return r.f.Close() }

// decoder reads little-endian fields, remembering the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) need(n int) bool {
	if d.err == nil && len(d.b) < n {
		d.err = errors.New("short")
	}
	return d.err == nil
}

func (d *decoder) u32() uint32 {
	if !d.need(4) {
		return 0
	}
	v := binary.LittleEndian.Uint32(d.b)
	d.b = d.b[4:]
	return v
}

func (d *decoder) u64() uint64 {
	if !d.need(8) {
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) bytes() []byte {
	if d.err != nil {
		return nil
	}
	n, w := binary.Uvarint(d.b)
	if w <= 0 || n > uint64(len(d.b)-w) {
		d.err = errors.New("bad length")
		return nil
	}
	v := bytes.Clone(d.b[w : w+int(n)])
	d.b = d.b[w+int(n):]
	return v
}
