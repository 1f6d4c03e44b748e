package fin

import (
	"encoding/binary"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Group state encodings (kernels.GroupStater). Every state is
//
//	version (1 byte, stateV1) | tag (1 byte, the accumulator kind) | fields
//
// where fields are the accumulator's per-group struct in declaration
// order: float64 as 8 little-endian bytes of its IEEE bits (NaN payloads
// and signed zeros survive), bool as one byte 0/1, int64 as a zigzag
// varint, a compensated sum as hi then lo, a boxed value as a uvarint
// length plus PostgreSQL's binary send format of the aggregate's argument
// type. The whole input must be consumed; anything else is XX001.
const stateV1 = 1

// State tags, one per accumulator kind (the ew family adds its ewKind).
const (
	tagEWMA byte = iota + 1
	tagOFI
	tagVWAP
	tagRealizedVar
	tagBipower
	tagZscore
	tagTWAP
	tagFirstLastFixed
	tagFirstLastDatum
	tagFirstValue
	tagEW // + ewKind
)

// errCorrupt is the XX001 error of a malformed group state.
func errCorrupt(fn, what string) error {
	return pgerror.New(pgerror.DataCorrupted, "%s: aggregate state is corrupt: %s", fn, what)
}

// stateWriter appends a group state.
type stateWriter struct{ b []byte }

func newStateWriter(dst []byte, tag byte) stateWriter {
	return stateWriter{b: append(dst, stateV1, tag)}
}

func (w *stateWriter) f64(v float64) {
	w.b = binary.LittleEndian.AppendUint64(w.b, math.Float64bits(v))
}

func (w *stateWriter) u64(v uint64) { w.b = binary.LittleEndian.AppendUint64(w.b, v) }

func (w *stateWriter) boolean(v bool) {
	if v {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}

func (w *stateWriter) i64(v int64) { w.b = binary.AppendVarint(w.b, v) }

func (w *stateWriter) ksum(s ksum) { w.f64(s.hi); w.f64(s.lo) }

func (w *stateWriter) bytes(p []byte) {
	w.b = binary.AppendUvarint(w.b, uint64(len(p)))
	w.b = append(w.b, p...)
}

// stateReader decodes a group state; the first failure sticks in err and
// later reads return zero values, so decoders check err once at the end.
type stateReader struct {
	fn  string
	b   []byte
	err error
}

// newStateReader checks the version and tag bytes.
func newStateReader(fn string, src []byte, tag byte) *stateReader {
	r := &stateReader{fn: fn, b: src}
	if len(src) < 2 {
		r.fail("truncated header")
		return r
	}
	if src[0] != stateV1 {
		r.fail("unknown version")
		return r
	}
	if src[1] != tag {
		r.fail("state of another aggregate")
		return r
	}
	r.b = src[2:]
	return r
}

func (r *stateReader) fail(what string) {
	if r.err == nil {
		r.err = errCorrupt(r.fn, what)
	}
	r.b = nil
}

func (r *stateReader) u64() uint64 {
	if len(r.b) < 8 {
		r.fail("truncated")
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *stateReader) f64() float64 { return math.Float64frombits(r.u64()) }

func (r *stateReader) boolean() bool {
	if len(r.b) < 1 {
		r.fail("truncated")
		return false
	}
	c := r.b[0]
	r.b = r.b[1:]
	if c > 1 {
		r.fail("bad boolean")
	}
	return c == 1
}

func (r *stateReader) i64() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *stateReader) ksum() ksum { return ksum{hi: r.f64(), lo: r.f64()} }

func (r *stateReader) bytes() []byte {
	n, k := binary.Uvarint(r.b)
	if k <= 0 || n > uint64(len(r.b)-k) {
		r.fail("bad length")
		return nil
	}
	p := r.b[k : k+int(n)]
	r.b = r.b[k+int(n):]
	return p
}

// done reports the first error, or XX001 when input is left over.
func (r *stateReader) done() error {
	if r.err == nil && len(r.b) != 0 {
		r.fail("trailing bytes")
	}
	return r.err
}

// checkGroup verifies g is a grown group.
func checkGroup(fn string, g uint32, n int) error {
	if int64(g) >= int64(n) {
		return pgerror.Internal("%s: LoadGroupState of group %d, only %d grown", fn, g, n)
	}
	return nil
}

var (
	_ kernels.GroupStater = (*ewmaAcc)(nil)
	_ kernels.GroupStater = (*ewAcc)(nil)
	_ kernels.GroupStater = (*ofiAcc)(nil)
	_ kernels.GroupStater = (*vwapAcc)(nil)
	_ kernels.GroupStater = (*realizedVarAcc)(nil)
	_ kernels.GroupStater = (*bipowerAcc)(nil)
	_ kernels.GroupStater = (*zscoreAcc)(nil)
	_ kernels.GroupStater = (*twapAcc[int64, arrow.Array])(nil)
	_ kernels.GroupStater = (*firstLastFixed[float64, *array.Float64, *array.Float64Builder])(nil)
	_ kernels.GroupStater = (*firstLastDatum)(nil)
	_ kernels.GroupStater = (*firstValueAcc)(nil)
)

func (a *ewmaAcc) AppendGroupState(dst []byte, g uint32) []byte {
	w := newStateWriter(dst, tagEWMA)
	s := a.st[g]
	w.boolean(s.has)
	w.f64(s.s)
	return w.b
}

func (a *ewmaAcc) LoadGroupState(g uint32, src []byte) error {
	if err := checkGroup("ewma", g, len(a.st)); err != nil {
		return err
	}
	r := newStateReader("ewma", src, tagEWMA)
	s := ewmaState{has: r.boolean(), s: r.f64()}
	if err := r.done(); err != nil {
		return err
	}
	a.st[g] = s
	return nil
}

func (a *ewAcc) AppendGroupState(dst []byte, g uint32) []byte {
	w := newStateWriter(dst, tagEW+byte(a.kind))
	s := a.st[g]
	w.boolean(s.has)
	w.f64(s.vx)
	w.f64(s.vy)
	w.f64(s.c)
	return w.b
}

func (a *ewAcc) LoadGroupState(g uint32, src []byte) error {
	name := a.kind.name()
	if err := checkGroup(name, g, len(a.st)); err != nil {
		return err
	}
	r := newStateReader(name, src, tagEW+byte(a.kind))
	s := ewState{has: r.boolean(), vx: r.f64(), vy: r.f64(), c: r.f64()}
	if err := r.done(); err != nil {
		return err
	}
	a.st[g] = s
	return nil
}

func (a *ofiAcc) AppendGroupState(dst []byte, g uint32) []byte {
	w := newStateWriter(dst, tagOFI)
	s := a.st[g]
	w.boolean(s.has)
	w.f64(s.pb)
	w.f64(s.qb)
	w.f64(s.pa)
	w.f64(s.qa)
	w.ksum(s.sum)
	return w.b
}

func (a *ofiAcc) LoadGroupState(g uint32, src []byte) error {
	if err := checkGroup("ofi", g, len(a.st)); err != nil {
		return err
	}
	r := newStateReader("ofi", src, tagOFI)
	var s ofiState
	s.has = r.boolean()
	s.pb, s.qb, s.pa, s.qa = r.f64(), r.f64(), r.f64(), r.f64()
	s.sum = r.ksum()
	if err := r.done(); err != nil {
		return err
	}
	a.st[g] = s
	return nil
}

func (a *vwapAcc) AppendGroupState(dst []byte, g uint32) []byte {
	w := newStateWriter(dst, tagVWAP)
	s := a.st[g]
	w.ksum(s.pq)
	w.ksum(s.q)
	w.i64(s.n)
	return w.b
}

func (a *vwapAcc) LoadGroupState(g uint32, src []byte) error {
	if err := checkGroup("vwap", g, len(a.st)); err != nil {
		return err
	}
	r := newStateReader("vwap", src, tagVWAP)
	s := vwapState{pq: r.ksum(), q: r.ksum(), n: r.i64()}
	if r.err == nil && s.n < 0 {
		r.fail("negative row count")
	}
	if err := r.done(); err != nil {
		return err
	}
	a.st[g] = s
	return nil
}

func (a *realizedVarAcc) AppendGroupState(dst []byte, g uint32) []byte {
	w := newStateWriter(dst, tagRealizedVar)
	s := a.st[g]
	w.ksum(s.s)
	w.i64(s.n)
	return w.b
}

func (a *realizedVarAcc) LoadGroupState(g uint32, src []byte) error {
	if err := checkGroup("realized_var", g, len(a.st)); err != nil {
		return err
	}
	r := newStateReader("realized_var", src, tagRealizedVar)
	s := sqState{s: r.ksum(), n: r.i64()}
	if r.err == nil && s.n < 0 {
		r.fail("negative row count")
	}
	if err := r.done(); err != nil {
		return err
	}
	a.st[g] = s
	return nil
}

func (a *bipowerAcc) AppendGroupState(dst []byte, g uint32) []byte {
	w := newStateWriter(dst, tagBipower)
	s := a.st[g]
	w.boolean(s.has)
	w.f64(s.prev)
	w.ksum(s.sum)
	return w.b
}

func (a *bipowerAcc) LoadGroupState(g uint32, src []byte) error {
	if err := checkGroup("bipower_var", g, len(a.st)); err != nil {
		return err
	}
	r := newStateReader("bipower_var", src, tagBipower)
	s := bipowerState{has: r.boolean(), prev: r.f64(), sum: r.ksum()}
	if err := r.done(); err != nil {
		return err
	}
	a.st[g] = s
	return nil
}

func (a *zscoreAcc) AppendGroupState(dst []byte, g uint32) []byte {
	w := newStateWriter(dst, tagZscore)
	s := a.st[g]
	w.f64(s.w.k)
	w.f64(s.w.n)
	w.f64(s.w.mean)
	w.f64(s.w.m2)
	w.f64(s.last)
	return w.b
}

func (a *zscoreAcc) LoadGroupState(g uint32, src []byte) error {
	if err := checkGroup("zscore", g, len(a.st)); err != nil {
		return err
	}
	r := newStateReader("zscore", src, tagZscore)
	s := zscoreState{w: welford{k: r.f64(), n: r.f64(), mean: r.f64(), m2: r.f64()}, last: r.f64()}
	if r.err == nil && !(s.w.n >= 0 && s.w.n == math.Trunc(s.w.n)) {
		r.fail("bad row count")
	}
	if err := r.done(); err != nil {
		return err
	}
	a.st[g] = s
	return nil
}

func (a *twapAcc[T, A]) AppendGroupState(dst []byte, g uint32) []byte {
	w := newStateWriter(dst, tagTWAP)
	s := a.st[g]
	w.boolean(s.has)
	w.f64(s.p)
	w.i64(s.ts)
	w.ksum(s.area)
	w.i64(s.span)
	return w.b
}

func (a *twapAcc[T, A]) LoadGroupState(g uint32, src []byte) error {
	if err := checkGroup("twap", g, len(a.st)); err != nil {
		return err
	}
	r := newStateReader("twap", src, tagTWAP)
	s := twapState{has: r.boolean(), p: r.f64(), ts: r.i64(), area: r.ksum(), span: r.i64()}
	if r.err == nil && s.span < 0 {
		r.fail("negative time span")
	}
	if err := r.done(); err != nil {
		return err
	}
	a.st[g] = s
	return nil
}

// fixedBits returns the bits of a fixed-width value as a uint64.
func fixedBits[T arrow.FixedWidthType](v T) uint64 {
	switch x := any(v).(type) {
	case float64:
		return math.Float64bits(x)
	case float32:
		return uint64(math.Float32bits(x))
	case int64:
		return uint64(x)
	case int32:
		return uint64(int64(x))
	case int16:
		return uint64(int64(x))
	case arrow.Timestamp:
		return uint64(x)
	case arrow.Date32:
		return uint64(int64(x))
	}
	return 0
}

// fromBits inverts fixedBits; ok is false for bits no value of T has.
func fromBits[T arrow.FixedWidthType](u uint64) (T, bool) {
	var z T
	var v any
	switch any(z).(type) {
	case float64:
		v = math.Float64frombits(u)
	case float32:
		if u > math.MaxUint32 {
			return z, false
		}
		v = math.Float32frombits(uint32(u))
	case int64:
		v = int64(u)
	case int32:
		if int64(u) != int64(int32(u)) {
			return z, false
		}
		v = int32(u)
	case int16:
		if int64(u) != int64(int16(u)) {
			return z, false
		}
		v = int16(u)
	case arrow.Timestamp:
		v = arrow.Timestamp(u)
	case arrow.Date32:
		if int64(u) != int64(int32(u)) {
			return z, false
		}
		v = arrow.Date32(u)
	default:
		return z, false
	}
	return v.(T), true
}

func (a *firstLastFixed[T, A, B]) AppendGroupState(dst []byte, g uint32) []byte {
	w := newStateWriter(dst, tagFirstLastFixed)
	w.boolean(a.has[g])
	w.u64(fixedBits(a.vals[g]))
	return w.b
}

func (a *firstLastFixed[T, A, B]) LoadGroupState(g uint32, src []byte) error {
	if err := checkGroup(a.name(), g, len(a.vals)); err != nil {
		return err
	}
	r := newStateReader(a.name(), src, tagFirstLastFixed)
	has, bits := r.boolean(), r.u64()
	v, ok := fromBits[T](bits)
	if r.err == nil && !ok {
		r.fail("value out of range")
	}
	if err := r.done(); err != nil {
		return err
	}
	a.vals[g], a.has[g] = v, has
	return nil
}

// stateCtx is the conversion context of boxed values in states: the binary
// formats of the supported types do not depend on session settings.
var stateCtx = types.Ctx{}

// appendDatum appends a boxed value: 0 for NULL, 1 + its binary form, or
// 2 for a value the binary format cannot hold (LoadGroupState refuses it).
func appendDatum(w *stateWriter, d types.Datum, t types.T) {
	if d == nil {
		w.b = append(w.b, 0)
		return
	}
	c := stateCtx
	enc, err := types.AppendBinary(nil, &c, d, t)
	if err != nil {
		w.b = append(w.b, 2)
		return
	}
	w.b = append(w.b, 1)
	w.bytes(enc)
}

// readDatum decodes appendDatum's output.
func readDatum(r *stateReader, t types.T) types.Datum {
	if len(r.b) == 0 {
		r.fail("truncated")
		return nil
	}
	tag := r.b[0]
	r.b = r.b[1:]
	switch tag {
	case 0:
		return nil
	case 1:
		p := r.bytes()
		if r.err != nil {
			return nil
		}
		c := stateCtx
		d, err := types.DecodeBinary(&c, p, t)
		if err != nil {
			r.fail("bad value: " + err.Error())
			return nil
		}
		return d
	case 2:
		r.fail("value of type " + t.String() + " was not saved")
	default:
		r.fail("bad value tag")
	}
	return nil
}

func (a *firstLastDatum) AppendGroupState(dst []byte, g uint32) []byte {
	w := newStateWriter(dst, tagFirstLastDatum)
	appendDatum(&w, a.vals[g], a.t)
	return w.b
}

func (a *firstLastDatum) LoadGroupState(g uint32, src []byte) error {
	if err := checkGroup(a.name(), g, len(a.vals)); err != nil {
		return err
	}
	r := newStateReader(a.name(), src, tagFirstLastDatum)
	d := readDatum(r, a.t)
	if err := r.done(); err != nil {
		return err
	}
	a.vals[g] = d
	return nil
}

func (a *firstValueAcc) name() string {
	if a.last {
		return "last_value"
	}
	return "first_value"
}

func (a *firstValueAcc) AppendGroupState(dst []byte, g uint32) []byte {
	w := newStateWriter(dst, tagFirstValue)
	w.boolean(a.has[g])
	appendDatum(&w, a.vals[g], a.t)
	return w.b
}

func (a *firstValueAcc) LoadGroupState(g uint32, src []byte) error {
	if err := checkGroup(a.name(), g, len(a.vals)); err != nil {
		return err
	}
	r := newStateReader(a.name(), src, tagFirstValue)
	has := r.boolean()
	d := readDatum(r, a.t)
	if r.err == nil && !has && d != nil {
		r.fail("value without a row")
	}
	if err := r.done(); err != nil {
		return err
	}
	a.vals[g], a.has[g] = d, has
	return nil
}
