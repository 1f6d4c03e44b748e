package fin

import (
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/kernels/statecodec"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Group state encodings (kernels.GroupStater). Every state is
//
//	version (1 byte, statecodec.V1) | tag (1 byte, the accumulator kind) | fields
//
// where fields are the accumulator's per-group struct in declaration
// order: float64 as 8 little-endian bytes of its IEEE bits (NaN payloads
// and signed zeros survive), bool as one byte 0/1, int64 as a zigzag
// varint, a compensated sum as hi then lo, a boxed value as a uvarint
// length plus PostgreSQL's binary send format of the aggregate's argument
// type. The whole input must be consumed; anything else is XX001.

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

// writeKsum appends a compensated sum: hi then lo.
func writeKsum(w *statecodec.Writer, s ksum) { w.F64(s.hi); w.F64(s.lo) }

// readKsum decodes writeKsum's output.
func readKsum(r *statecodec.Reader) ksum { return ksum{hi: r.F64(), lo: r.F64()} }

// checkGroup verifies g is a grown group.
func checkGroup(fn string, g uint32, n int) error {
	if int64(g) >= int64(n) {
		return pgerror.Internal("%s: LoadGroupState of group %d, only %d grown", fn, g, n)
	}
	return nil
}

// decodeGroup is the shape of every LoadGroupState: check that g is one
// of the n grown groups, check the header, decode the fields (decode
// validates them through r.Check) and require the input consumed. The
// caller stores the result only when the error is nil, so a failed load
// leaves the group as it was.
func decodeGroup[S any](fn string, g uint32, n int, src []byte, tag byte, decode func(r *statecodec.Reader) S) (S, error) {
	var zero S
	if err := checkGroup(fn, g, n); err != nil {
		return zero, err
	}
	var r statecodec.Reader
	r.InitTag(fn, src, tag)
	s := decode(&r)
	if err := r.Done(); err != nil {
		return zero, err
	}
	return s, nil
}

// loadGroup is decodeGroup for an accumulator whose group states are one
// slice: it stores the decoded state in st[g].
func loadGroup[S any](fn string, g uint32, st []S, src []byte, tag byte, decode func(r *statecodec.Reader) S) error {
	s, err := decodeGroup(fn, g, len(st), src, tag, decode)
	if err != nil {
		return err
	}
	st[g] = s
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
	w := statecodec.NewTagWriter(dst, tagEWMA)
	s := a.st[g]
	w.Bool(s.has)
	w.F64(s.s)
	return w.B
}

func (a *ewmaAcc) LoadGroupState(g uint32, src []byte) error {
	return loadGroup("ewma", g, a.st, src, tagEWMA, func(r *statecodec.Reader) ewmaState {
		return ewmaState{has: r.Bool(), s: r.F64()}
	})
}

func (a *ewAcc) AppendGroupState(dst []byte, g uint32) []byte {
	w := statecodec.NewTagWriter(dst, tagEW+byte(a.kind))
	s := a.st[g]
	w.Bool(s.has)
	w.F64(s.vx)
	w.F64(s.vy)
	w.F64(s.c)
	return w.B
}

func (a *ewAcc) LoadGroupState(g uint32, src []byte) error {
	return loadGroup(a.kind.name(), g, a.st, src, tagEW+byte(a.kind), func(r *statecodec.Reader) ewState {
		return ewState{has: r.Bool(), vx: r.F64(), vy: r.F64(), c: r.F64()}
	})
}

func (a *ofiAcc) AppendGroupState(dst []byte, g uint32) []byte {
	w := statecodec.NewTagWriter(dst, tagOFI)
	s := a.st[g]
	w.Bool(s.has)
	w.F64(s.pb)
	w.F64(s.qb)
	w.F64(s.pa)
	w.F64(s.qa)
	writeKsum(&w, s.sum)
	return w.B
}

func (a *ofiAcc) LoadGroupState(g uint32, src []byte) error {
	return loadGroup("ofi", g, a.st, src, tagOFI, func(r *statecodec.Reader) ofiState {
		return ofiState{has: r.Bool(), pb: r.F64(), qb: r.F64(), pa: r.F64(), qa: r.F64(), sum: readKsum(r)}
	})
}

func (a *vwapAcc) AppendGroupState(dst []byte, g uint32) []byte {
	w := statecodec.NewTagWriter(dst, tagVWAP)
	s := a.st[g]
	writeKsum(&w, s.pq)
	writeKsum(&w, s.q)
	w.Varint(s.n)
	return w.B
}

func (a *vwapAcc) LoadGroupState(g uint32, src []byte) error {
	return loadGroup("vwap", g, a.st, src, tagVWAP, func(r *statecodec.Reader) vwapState {
		s := vwapState{pq: readKsum(r), q: readKsum(r), n: r.Varint()}
		r.Check(s.n >= 0, "negative row count")
		return s
	})
}

func (a *realizedVarAcc) AppendGroupState(dst []byte, g uint32) []byte {
	w := statecodec.NewTagWriter(dst, tagRealizedVar)
	s := a.st[g]
	writeKsum(&w, s.s)
	w.Varint(s.n)
	return w.B
}

func (a *realizedVarAcc) LoadGroupState(g uint32, src []byte) error {
	return loadGroup("realized_var", g, a.st, src, tagRealizedVar, func(r *statecodec.Reader) sqState {
		s := sqState{s: readKsum(r), n: r.Varint()}
		r.Check(s.n >= 0, "negative row count")
		return s
	})
}

func (a *bipowerAcc) AppendGroupState(dst []byte, g uint32) []byte {
	w := statecodec.NewTagWriter(dst, tagBipower)
	s := a.st[g]
	w.Bool(s.has)
	w.F64(s.prev)
	writeKsum(&w, s.sum)
	return w.B
}

func (a *bipowerAcc) LoadGroupState(g uint32, src []byte) error {
	return loadGroup("bipower_var", g, a.st, src, tagBipower, func(r *statecodec.Reader) bipowerState {
		return bipowerState{has: r.Bool(), prev: r.F64(), sum: readKsum(r)}
	})
}

func (a *zscoreAcc) AppendGroupState(dst []byte, g uint32) []byte {
	w := statecodec.NewTagWriter(dst, tagZscore)
	s := a.st[g]
	w.F64(s.w.k)
	w.F64(s.w.n)
	w.F64(s.w.mean)
	w.F64(s.w.m2)
	w.F64(s.last)
	return w.B
}

func (a *zscoreAcc) LoadGroupState(g uint32, src []byte) error {
	return loadGroup("zscore", g, a.st, src, tagZscore, func(r *statecodec.Reader) zscoreState {
		s := zscoreState{w: welford{k: r.F64(), n: r.F64(), mean: r.F64(), m2: r.F64()}, last: r.F64()}
		r.Check(s.w.n >= 0 && s.w.n == math.Trunc(s.w.n), "bad row count")
		return s
	})
}

func (a *twapAcc[T, A]) AppendGroupState(dst []byte, g uint32) []byte {
	w := statecodec.NewTagWriter(dst, tagTWAP)
	s := a.st[g]
	w.Bool(s.has)
	w.F64(s.p)
	w.Varint(s.ts)
	writeKsum(&w, s.area)
	w.Varint(s.span)
	return w.B
}

func (a *twapAcc[T, A]) LoadGroupState(g uint32, src []byte) error {
	return loadGroup("twap", g, a.st, src, tagTWAP, func(r *statecodec.Reader) twapState {
		s := twapState{has: r.Bool(), p: r.F64(), ts: r.Varint(), area: readKsum(r), span: r.Varint()}
		r.Check(s.span >= 0, "negative time span")
		return s
	})
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
	w := statecodec.NewTagWriter(dst, tagFirstLastFixed)
	w.Bool(a.has[g])
	w.U64(fixedBits(a.vals[g]))
	return w.B
}

func (a *firstLastFixed[T, A, B]) LoadGroupState(g uint32, src []byte) error {
	type state struct {
		has bool
		v   T
	}
	s, err := decodeGroup(a.name(), g, len(a.vals), src, tagFirstLastFixed, func(r *statecodec.Reader) state {
		has := r.Bool()
		v, ok := fromBits[T](r.U64())
		r.Check(ok, "value out of range")
		return state{has: has, v: v}
	})
	if err != nil {
		return err
	}
	a.vals[g], a.has[g] = s.v, s.has
	return nil
}

// stateCtx is the conversion context of boxed values in states: the binary
// formats of the supported types do not depend on session settings.
var stateCtx = types.Ctx{}

// appendDatum appends a boxed value: 0 for NULL, 1 + its binary form, or
// 2 for a value the binary format cannot hold (LoadGroupState refuses it).
func appendDatum(w *statecodec.Writer, d types.Datum, t types.T) {
	if d == nil {
		w.Byte(0)
		return
	}
	c := stateCtx
	enc, err := types.AppendBinary(nil, &c, d, t)
	if err != nil {
		w.Byte(2)
		return
	}
	w.Byte(1)
	w.Bytes(enc)
}

// readDatum decodes appendDatum's output.
func readDatum(r *statecodec.Reader, t types.T) types.Datum {
	switch r.Byte() {
	case 0:
		return nil
	case 1:
		p := r.Bytes()
		if r.Err() != nil {
			return nil
		}
		c := stateCtx
		d, err := types.DecodeBinary(&c, p, t)
		if err != nil {
			r.Fail("bad value: " + err.Error())
			return nil
		}
		return d
	case 2:
		r.Fail("value of type " + t.String() + " was not saved")
	default:
		r.Fail("bad value tag")
	}
	return nil
}

func (a *firstLastDatum) AppendGroupState(dst []byte, g uint32) []byte {
	w := statecodec.NewTagWriter(dst, tagFirstLastDatum)
	appendDatum(&w, a.vals[g], a.t)
	return w.B
}

func (a *firstLastDatum) LoadGroupState(g uint32, src []byte) error {
	return loadGroup(a.name(), g, a.vals, src, tagFirstLastDatum, func(r *statecodec.Reader) types.Datum {
		return readDatum(r, a.t)
	})
}

func (a *firstValueAcc) name() string {
	if a.last {
		return "last_value"
	}
	return "first_value"
}

func (a *firstValueAcc) AppendGroupState(dst []byte, g uint32) []byte {
	w := statecodec.NewTagWriter(dst, tagFirstValue)
	w.Bool(a.has[g])
	appendDatum(&w, a.vals[g], a.t)
	return w.B
}

func (a *firstValueAcc) LoadGroupState(g uint32, src []byte) error {
	type state struct {
		has bool
		d   types.Datum
	}
	s, err := decodeGroup(a.name(), g, len(a.vals), src, tagFirstValue, func(r *statecodec.Reader) state {
		s := state{has: r.Bool(), d: readDatum(r, a.t)}
		r.Check(s.has || s.d == nil, "value without a row")
		return s
	})
	if err != nil {
		return err
	}
	a.vals[g], a.has[g] = s.d, s.has
	return nil
}
