package columnar

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sabotsql/sabotsql/storage/state"
)

// entrySchema is the schema of every block: one row per (key, epoch)
// version, sorted by key ascending then epoch descending.
var entrySchema = arrow.NewSchema([]arrow.Field{
	{Name: "key", Type: arrow.BinaryTypes.Binary},
	{Name: "epoch", Type: arrow.PrimitiveTypes.Uint64},
	{Name: "tomb", Type: arrow.FixedWidthTypes.Boolean},
	{Name: "val", Type: arrow.BinaryTypes.Binary},
}, nil)

// block is an immutable, sorted run of entries read from a run file: a
// view over the block's bytes (an Arrow IPC stream) located by parsing the
// record batch's metadata, with no copy and no Arrow objects. A lookup
// binary-searches the encoded key column and reads only the values it
// needs; values returned alias the block's bytes.
type block struct {
	n      int
	koffs  []byte // n+1 little-endian int32 offsets into kdata
	kdata  []byte
	epochs []byte // n little-endian uint64
	tombs  []byte // bitmap, least significant bit first
	voffs  []byte // n+1 little-endian int32 offsets into vdata
	vdata  []byte
	data   []byte // the whole block, which the fields above alias
	size   int64  // bytes charged to the budget while cached
	// checked: every offset was verified (decodeBlock, verify), so key
	// and val stay in bounds. A block from decodeBlockLazy is read only
	// through lookup, whose accessors check the offsets they use.
	checked bool
}

func offAt(offs []byte, i int) int { return int(int32(binary.LittleEndian.Uint32(offs[4*i:]))) }

// key is the key of row i.
func (b *block) key(i int) []byte {
	s, e := offAt(b.koffs, i), offAt(b.koffs, i+1)
	return b.kdata[s:e:e]
}

func (b *block) epoch(i int) uint64 { return binary.LittleEndian.Uint64(b.epochs[8*i:]) }
func (b *block) tomb(i int) bool    { return b.tombs[i>>3]>>(i&7)&1 == 1 }

// val is the value of row i.
func (b *block) val(i int) []byte {
	s, e := offAt(b.voffs, i), offAt(b.voffs, i+1)
	return b.vdata[s:e:e]
}

func (b *block) len() int { return b.n }

// seek returns the first row with key ≥ k.
func (b *block) seek(k []byte) int {
	return sort.Search(b.n, func(i int) bool { return bytes.Compare(b.key(i), k) >= 0 })
}

// blockBuilder accumulates sorted entries in plain Go slices, which finish
// wraps as the buffers of an Arrow record batch without copying. The
// slices are reused by the next block, so a finished block is valid only
// until the next add (the run writer encodes it at once).
type blockBuilder struct {
	koffs  []int32
	kdata  []byte
	epochs []uint64
	tombs  []byte // validity-style bitmap, LSB first
	voffs  []int32
	vdata  []byte
	rows   int
}

func newBlockBuilder() *blockBuilder {
	return &blockBuilder{koffs: []int32{0}, voffs: []int32{0}}
}

func (bb *blockBuilder) add(key []byte, epoch uint64, tomb bool, val []byte) {
	bb.kdata = append(bb.kdata, key...)
	bb.koffs = append(bb.koffs, int32(len(bb.kdata)))
	bb.epochs = append(bb.epochs, epoch)
	if bb.rows%8 == 0 {
		bb.tombs = append(bb.tombs, 0)
	}
	if tomb {
		bb.tombs[bb.rows/8] |= 1 << (bb.rows % 8)
	}
	bb.vdata = append(bb.vdata, val...)
	bb.voffs = append(bb.voffs, int32(len(bb.vdata)))
	bb.rows++
}

// finish returns the record batch built so far (valid until the next add)
// and resets the builder.
func (bb *blockBuilder) finish() arrow.RecordBatch {
	n := bb.rows
	bin := func(offs []int32, data []byte) arrow.ArrayData {
		return array.NewData(arrow.BinaryTypes.Binary, n,
			[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offs)), memory.NewBufferBytes(data)}, nil, 0, 0)
	}
	cols := []arrow.Array{
		array.NewBinaryData(bin(bb.koffs, bb.kdata)),
		array.NewUint64Data(array.NewData(arrow.PrimitiveTypes.Uint64, n,
			[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Uint64Traits.CastToBytes(bb.epochs))}, nil, 0, 0)),
		array.NewBooleanData(array.NewData(arrow.FixedWidthTypes.Boolean, n,
			[]*memory.Buffer{nil, memory.NewBufferBytes(bb.tombs)}, nil, 0, 0)),
		array.NewBinaryData(bin(bb.voffs, bb.vdata)),
	}
	rec := array.NewRecordBatch(entrySchema, cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	bb.reset()
	return rec
}

// reset empties the builder, keeping its slices' storage.
func (bb *blockBuilder) reset() {
	bb.koffs, bb.kdata, bb.epochs = bb.koffs[:1], bb.kdata[:0], bb.epochs[:0]
	bb.tombs, bb.voffs, bb.vdata, bb.rows = bb.tombs[:0], bb.voffs[:1], bb.vdata[:0], 0
}

// ipcEOS is the end-of-stream marker that closes an IPC stream.
const ipcEOS = "\xff\xff\xff\xff\x00\x00\x00\x00"

// blockEncoder appends blocks to one buffer, each a self-contained IPC
// stream (a schema message, one record batch message, the end-of-stream
// marker): byte for byte what a fresh ipc.Writer writes for one batch.
//
// It writes them itself, from the builder's slices, without Arrow objects:
// every block's record batch message has the same flatbuffer layout (4
// field nodes, 10 buffers, no compression, no custom metadata; only
// numbers differ), so the encoder takes the message the ipc package writes
// for a one-row batch as a template, finds the places of its numbers (the
// row count, the body length, each node and buffer) by parsing it, and
// fills them in per block; the body is the builder's buffers, each padded
// to 8 bytes. newBlockEncoder checks the template against the ipc writer
// on a second batch and, should a future ipc package lay messages out
// differently, falls back to encoding through an ipc.Writer. With 256-row
// blocks the ipc writer (a record batch, arrays and buffers per block,
// payload building, allocations) was ~10% of a flush's or merge's CPU.
type blockEncoder struct {
	dst       *bytes.Buffer
	schemaMsg []byte      // the schema message opening every block
	tmpl      *rbTemplate // nil: encode through w
	w         *ipc.Writer // fallback
	started   bool        // w has written its schema
	meta      []byte      // scratch: the record batch message being filled
}

// rbTemplate is the record batch message of a one-row block with the
// places of its numbers.
type rbTemplate struct {
	msg     []byte // continuation marker, length, flatbuffer, padding
	lenPos  int    // RecordBatch.length
	bodyPos int    // Message.bodyLength
	nodePos int    // first FieldNode {length, null_count}
	bufPos  int    // first Buffer {offset, length}
}

func newBlockEncoder(dst *bytes.Buffer) (*blockEncoder, error) {
	var sb bytes.Buffer
	if err := ipc.NewWriter(&sb, ipc.WithSchema(entrySchema)).Close(); err != nil {
		return nil, fmt.Errorf("columnar: encode block schema: %w", err)
	}
	msg, ok := bytes.CutSuffix(sb.Bytes(), []byte(ipcEOS))
	if !ok {
		return nil, fmt.Errorf("columnar: encode block schema: stream does not end with an end-of-stream marker")
	}
	e := &blockEncoder{dst: dst, schemaMsg: msg}
	if e.tmpl = blockTemplate(msg); e.tmpl == nil {
		e.w = ipc.NewWriter(dst, ipc.WithSchema(entrySchema))
	}
	return e, nil
}

// blockTemplate derives the record batch template from the ipc writer's
// encoding of a one-row block and checks it on a three-row block; nil if
// either does not come out byte for byte.
func blockTemplate(schemaMsg []byte) *rbTemplate {
	ref := func(bb *blockBuilder) []byte {
		rec := bb.finish()
		defer rec.Release()
		var buf bytes.Buffer
		w := ipc.NewWriter(&buf, ipc.WithSchema(entrySchema))
		if w.Write(rec) != nil || w.Close() != nil {
			return nil
		}
		return buf.Bytes()
	}
	bb := newBlockBuilder()
	bb.add([]byte("k"), 1, false, []byte("v"))
	one := ref(bb)
	rest, ok := bytes.CutPrefix(one, schemaMsg)
	if !ok || len(rest) < 8 || binary.LittleEndian.Uint32(rest) != 0xFFFFFFFF {
		return nil
	}
	ml := int(binary.LittleEndian.Uint32(rest[4:]))
	if ml <= 0 || 8+ml > len(rest) {
		return nil
	}
	fb := rest[8 : 8+ml]
	msg, ok := fbRoot(fb)
	if !ok {
		return nil
	}
	_, hdr, err := msgHeader(msg)
	if err != nil {
		return nil
	}
	vecData := func(p int) int {
		if p == 0 || p > len(fb)-4 {
			return -1
		}
		return p + int(binary.LittleEndian.Uint32(fb[p:])) + 4
	}
	t := &rbTemplate{
		msg:     bytes.Clone(rest[:8+ml]),
		lenPos:  8 + hdr.field(0),
		bodyPos: 8 + msg.field(3),
		nodePos: 8 + vecData(hdr.field(1)),
		bufPos:  8 + vecData(hdr.field(2)),
	}
	if hdr.field(0) == 0 || msg.field(3) == 0 || t.nodePos < 8 || t.bufPos < 8 ||
		t.nodePos+4*16 > len(t.msg) || t.bufPos+10*16 > len(t.msg) {
		return nil
	}
	bb.add([]byte("k"), 1, false, []byte("v"))
	var got bytes.Buffer
	e := &blockEncoder{dst: &got, schemaMsg: schemaMsg, tmpl: t}
	e.encodeBuilder(bb)
	if !bytes.Equal(got.Bytes(), one) {
		return nil
	}
	three := func(bb *blockBuilder) {
		bb.add(nil, 7, true, nil)
		bb.add([]byte("key-2"), 5, false, []byte("a longer value"))
		bb.add([]byte("key-3"), 1<<40, false, nil)
	}
	three(bb)
	got.Reset()
	e.encodeBuilder(bb)
	three(bb)
	if !bytes.Equal(got.Bytes(), ref(bb)) {
		return nil
	}
	return t
}

// encode appends rec as one block through the ipc writer (tests, and the
// fallback).
func (e *blockEncoder) encode(rec arrow.RecordBatch) error {
	if e.w == nil {
		e.w = ipc.NewWriter(e.dst, ipc.WithSchema(entrySchema))
		e.started = false
	}
	if e.started {
		e.dst.Write(e.schemaMsg)
	}
	e.started = true
	if err := e.w.Write(rec); err != nil {
		return fmt.Errorf("columnar: encode block: %w", err)
	}
	e.dst.WriteString(ipcEOS)
	return nil
}

// encodeBuilder appends the rows of bb (at least one) as one block and
// resets bb.
func (e *blockEncoder) encodeBuilder(bb *blockBuilder) error {
	if e.tmpl == nil {
		rec := bb.finish()
		defer rec.Release()
		return e.encode(rec)
	}
	t := e.tmpl
	n := bb.rows
	bufs := [10][]byte{
		nil, arrow.Int32Traits.CastToBytes(bb.koffs), bb.kdata,
		nil, arrow.Uint64Traits.CastToBytes(bb.epochs),
		nil, bb.tombs,
		nil, arrow.Int32Traits.CastToBytes(bb.voffs), bb.vdata,
	}
	m := append(e.meta[:0], t.msg...)
	e.meta = m
	le := binary.LittleEndian
	le.PutUint64(m[t.lenPos:], uint64(n))
	for i := range 4 {
		le.PutUint64(m[t.nodePos+16*i:], uint64(n))
		le.PutUint64(m[t.nodePos+16*i+8:], 0)
	}
	off := 0
	for i, b := range bufs {
		le.PutUint64(m[t.bufPos+16*i:], uint64(off))
		le.PutUint64(m[t.bufPos+16*i+8:], uint64(len(b)))
		off += pad8(len(b))
	}
	le.PutUint64(m[t.bodyPos:], uint64(off))
	d := e.dst
	d.Grow(len(e.schemaMsg) + len(m) + off + len(ipcEOS))
	d.Write(e.schemaMsg)
	d.Write(m)
	var zeros [8]byte
	for _, b := range bufs {
		d.Write(b)
		d.Write(zeros[:pad8(len(b))-len(b)])
	}
	d.WriteString(ipcEOS)
	bb.reset()
	return nil
}

// pad8 rounds n up to a multiple of 8.
func pad8(n int) int { return (n + 7) &^ 7 }

// Arrow IPC message header types (Message.fbs, MessageHeader).
const (
	ipcSchema      = 1
	ipcRecordBatch = 3
)

// decodeBlock makes a block view over an IPC stream written by
// blockEncoder: it skips the schema message, reads the record batch
// message's metadata (a flatbuffer, read field by field per the Arrow
// format's Message.fbs) for the buffers' places, and checks that every
// buffer and offset lies inside the data, so later accesses cannot go out
// of bounds. The caller has verified the checksum; a parse failure still
// means corruption.
func decodeBlock(data []byte) (*block, error) {
	b, err := decodeBlockLazy(data)
	if err != nil {
		return nil, err
	}
	if err := b.verify(); err != nil {
		return nil, err
	}
	return b, nil
}

// verify checks every key and value offset (once: a verified block is
// marked checked), after which key and val cannot go out of bounds.
func (b *block) verify() error {
	if b.checked {
		return nil
	}
	if err := checkOffsets(b.koffs, b.n, len(b.kdata)); err != nil {
		return fmt.Errorf("key column: %w", err)
	}
	if err := checkOffsets(b.voffs, b.n, len(b.vdata)); err != nil {
		return fmt.Errorf("val column: %w", err)
	}
	b.checked = true
	return nil
}

// decodeBlockLazy is decodeBlock without the pass over the offsets: it
// checks the buffers' places and lengths (n+1 offsets per binary column),
// not the offsets' values. A point lookup reads a few rows of a block it
// does not keep; lookup checks each offset it uses instead of all of them,
// and verify completes the check before the block is shared (cached).
func decodeBlockLazy(data []byte) (*block, error) {
	msg, rest, err := ipcMessage(data)
	if err != nil {
		return nil, err
	}
	if typ, _, err := msgHeader(msg); err != nil {
		return nil, err
	} else if typ != ipcSchema {
		return nil, fmt.Errorf("first message is of type %d, not a schema", typ)
	}
	msg, rest, err = ipcMessage(rest)
	if err != nil {
		return nil, err
	}
	typ, hdr, err := msgHeader(msg)
	if err != nil {
		return nil, err
	}
	if typ != ipcRecordBatch {
		return nil, fmt.Errorf("second message is of type %d, not a record batch", typ)
	}
	bodyLen, ok := msg.i64(msg.field(3))
	if !ok || bodyLen < 0 || bodyLen > int64(len(rest)) {
		return nil, fmt.Errorf("record batch body of %d bytes, %d left", bodyLen, len(rest))
	}
	body := rest[:bodyLen]
	length, ok := hdr.i64(hdr.field(0))
	if !ok || length < 0 || length > int64(len(body)) {
		return nil, fmt.Errorf("record batch length %d", length)
	}
	if hdr.field(3) != 0 {
		return nil, fmt.Errorf("compressed record batch")
	}
	n := int(length)
	nodes, nn, ok := hdr.vector(hdr.field(1), 16)
	if !ok || nn != 4 {
		return nil, fmt.Errorf("record batch has %d field nodes, want 4", nn)
	}
	for i := range 4 {
		fn := nodes[16*i:]
		if int64(binary.LittleEndian.Uint64(fn)) != length || binary.LittleEndian.Uint64(fn[8:]) != 0 {
			return nil, fmt.Errorf("field %d: unexpected length or nulls", i)
		}
	}
	bufs, nb, ok := hdr.vector(hdr.field(2), 16)
	if !ok || nb != 10 {
		return nil, fmt.Errorf("record batch has %d buffers, want 10", nb)
	}
	buf := func(i int) ([]byte, error) {
		off, ln := int64(binary.LittleEndian.Uint64(bufs[16*i:])), int64(binary.LittleEndian.Uint64(bufs[16*i+8:]))
		if off < 0 || ln < 0 || off > int64(len(body)) || ln > int64(len(body))-off {
			return nil, fmt.Errorf("buffer %d at [%d,+%d) outside a body of %d bytes", i, off, ln, len(body))
		}
		return body[off : off+ln : off+ln], nil
	}
	b := &block{n: n}
	// Buffers: key (validity, offsets, data), epoch (validity, values),
	// tomb (validity, bits), val (validity, offsets, data).
	dst := []*[]byte{nil, &b.koffs, &b.kdata, nil, &b.epochs, nil, &b.tombs, nil, &b.voffs, &b.vdata}
	for i, d := range dst {
		if d == nil {
			continue
		}
		if *d, err = buf(i); err != nil {
			return nil, err
		}
	}
	if len(b.epochs) < 8*n || len(b.tombs) < (n+7)/8 {
		return nil, fmt.Errorf("epoch or tomb column shorter than %d rows", n)
	}
	if len(b.koffs) < 4*(n+1) || len(b.voffs) < 4*(n+1) {
		return nil, fmt.Errorf("%d key and %d value offset bytes for %d rows", len(b.koffs), len(b.voffs), n)
	}
	b.data = data
	b.size = int64(len(data)) + 128
	return b, nil
}

// checkOffsets verifies n+1 offsets that never decrease and stay in
// [0, dataLen].
func checkOffsets(offs []byte, n, dataLen int) error {
	if len(offs) < 4*(n+1) {
		return fmt.Errorf("%d offset bytes for %d rows", len(offs), n)
	}
	offs = offs[:4*(n+1)]
	prev := int64(offAt(offs, 0))
	if prev < 0 {
		return fmt.Errorf("negative offset")
	}
	// Branch-free: a decrease makes some difference, and so their OR,
	// negative; the row is looked for only then.
	var or int64
	for i := 4; i+4 <= len(offs); i += 4 {
		o := int64(int32(binary.LittleEndian.Uint32(offs[i : i+4])))
		or |= o - prev
		prev = o
	}
	if or < 0 {
		for i := 1; i <= n; i++ {
			if offAt(offs, i) < offAt(offs, i-1) {
				return fmt.Errorf("offsets decrease at row %d", i)
			}
		}
	}
	if prev > int64(dataLen) {
		return fmt.Errorf("offset %d beyond %d data bytes", prev, dataLen)
	}
	return nil
}

// ipcMessage splits an encapsulated IPC message off data: its flatbuffer
// metadata (the root Message table) and the bytes after the metadata
// (body, then later messages).
func ipcMessage(data []byte) (fbTable, []byte, error) {
	if len(data) < 4 {
		return fbTable{}, nil, fmt.Errorf("truncated message")
	}
	ml := binary.LittleEndian.Uint32(data)
	data = data[4:]
	if ml == 0xFFFFFFFF { // continuation marker
		if len(data) < 4 {
			return fbTable{}, nil, fmt.Errorf("truncated message")
		}
		ml = binary.LittleEndian.Uint32(data)
		data = data[4:]
	}
	if ml == 0 || uint64(ml) > uint64(len(data)) {
		return fbTable{}, nil, fmt.Errorf("message metadata of %d bytes, %d left", ml, len(data))
	}
	meta := data[:ml]
	t, ok := fbRoot(meta)
	if !ok {
		return fbTable{}, nil, fmt.Errorf("malformed message metadata")
	}
	return t, data[ml:], nil
}

// msgHeader returns a Message's header type and header table.
func msgHeader(msg fbTable) (byte, fbTable, error) {
	p := msg.field(1)
	if p == 0 || p >= len(msg.b) {
		return 0, fbTable{}, fmt.Errorf("message without header type")
	}
	hdr, ok := msg.table(msg.field(2))
	if !ok {
		return 0, fbTable{}, fmt.Errorf("message without header")
	}
	return msg.b[p], hdr, nil
}

// fbTable is a flatbuffer table: b is the whole buffer, pos the table's
// start, vt its vtable's start and nf the number of fields the vtable
// lists. Every accessor checks bounds and reports failure, never panics.
type fbTable struct {
	b       []byte
	pos, vt int
	nf      int
}

func fbRoot(b []byte) (fbTable, bool) {
	if len(b) < 4 {
		return fbTable{}, false
	}
	return fbAt(b, int(binary.LittleEndian.Uint32(b)))
}

func fbAt(b []byte, pos int) (fbTable, bool) {
	if pos < 0 || pos > len(b)-4 {
		return fbTable{}, false
	}
	vt := pos - int(int32(binary.LittleEndian.Uint32(b[pos:])))
	if vt < 0 || vt > len(b)-4 {
		return fbTable{}, false
	}
	vlen := int(binary.LittleEndian.Uint16(b[vt:]))
	if vlen < 4 || vt+vlen > len(b) {
		return fbTable{}, false
	}
	return fbTable{b: b, pos: pos, vt: vt, nf: (vlen - 4) / 2}, true
}

// field returns the absolute position of field id, or 0 when absent.
func (t fbTable) field(id int) int {
	if id >= t.nf {
		return 0
	}
	o := int(binary.LittleEndian.Uint16(t.b[t.vt+4+2*id:]))
	if o == 0 {
		return 0
	}
	return t.pos + o
}

func (t fbTable) i64(p int) (int64, bool) {
	if p == 0 || p > len(t.b)-8 {
		return 0, false
	}
	return int64(binary.LittleEndian.Uint64(t.b[p:])), true
}

// table follows the offset stored at p to a table.
func (t fbTable) table(p int) (fbTable, bool) {
	if p == 0 || p > len(t.b)-4 {
		return fbTable{}, false
	}
	return fbAt(t.b, p+int(binary.LittleEndian.Uint32(t.b[p:])))
}

// vector follows the offset stored at p to a vector of structs of elem
// bytes and returns its bytes and length.
func (t fbTable) vector(p, elem int) ([]byte, int, bool) {
	if p == 0 || p > len(t.b)-4 {
		return nil, 0, false
	}
	v := p + int(binary.LittleEndian.Uint32(t.b[p:]))
	if v < 0 || v > len(t.b)-4 {
		return nil, 0, false
	}
	n := int(binary.LittleEndian.Uint32(t.b[v:]))
	if n < 0 || n > (len(t.b)-v-4)/elem {
		return nil, 0, false
	}
	return t.b[v+4 : v+4+n*elem], n, true
}

// errBadOffset reports an offset that lookup found out of bounds.
var errBadOffset = errors.New("offset out of bounds")

// binAt is value i of a binary column whose n+1 offsets offs holds (i < n),
// or false when its offsets are decreasing or outside data.
func binAt(offs, data []byte, i int) ([]byte, bool) {
	s, e := offAt(offs, i), offAt(offs, i+1)
	if s < 0 || s > e || e > len(data) {
		return nil, false
	}
	return data[s:e:e], true
}

// versionIn finds the newest version of k with epoch ≤ at in block b,
// checking every offset it reads (b need not be verified: a point lookup
// reads a few of a block's offsets, not all). An offset out of bounds is
// errBadOffset.
func versionIn(b *block, k []byte, at state.Epoch) (state.Version, bool, error) {
	lo, hi := 0, b.n
	for lo < hi { // the first row with key ≥ k
		mid := int(uint(lo+hi) >> 1)
		mk, ok := binAt(b.koffs, b.kdata, mid)
		if !ok {
			return state.Version{}, false, errBadOffset
		}
		if bytes.Compare(mk, k) < 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	for i := lo; i < b.n; i++ {
		ik, ok := binAt(b.koffs, b.kdata, i)
		if !ok {
			return state.Version{}, false, errBadOffset
		}
		if !bytes.Equal(ik, k) {
			break
		}
		if e := state.Epoch(b.epoch(i)); e <= at {
			v, ok := binAt(b.voffs, b.vdata, i)
			if !ok {
				return state.Version{}, false, errBadOffset
			}
			return state.Version{Epoch: e, Tomb: b.tomb(i), Val: v}, true, nil
		}
	}
	return state.Version{}, false, nil
}
