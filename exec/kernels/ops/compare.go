package ops

import (
	"bytes"
	"cmp"
	"math"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// cmpOp is one of the six comparison operators.
type cmpOp uint8

const (
	opEq cmpOp = iota
	opNe
	opLt
	opLe
	opGt
	opGe
)

// cmpOps lists the operators in order; name returns the SQL symbol.
func cmpOps() []cmpOp { return []cmpOp{opEq, opNe, opLt, opLe, opGt, opGe} }

func (op cmpOp) name() string {
	switch op {
	case opEq:
		return "="
	case opNe:
		return "<>"
	case opLt:
		return "<"
	case opLe:
		return "<="
	case opGt:
		return ">"
	}
	return ">="
}

// holds reports whether a three-way comparison result c satisfies op.
func (op cmpOp) holds(c int) bool {
	switch op {
	case opEq:
		return c == 0
	case opNe:
		return c != 0
	case opLt:
		return c < 0
	case opLe:
		return c <= 0
	case opGt:
		return c > 0
	}
	return c >= 0
}

// cmpFn three-way compares two non-NULL Datums.
type cmpFn func(ctx *kernels.EvalContext, a, b types.Datum) (int, error)

// registerCompare adds the six comparisons for every type family, plus the
// cross-type integer, float and date/timestamp pairs PostgreSQL defines.
func registerCompare(r *kernels.Registry) {
	ints := []types.T{types.Int2T, types.Int4T, types.Int8T}
	intVec := [3][3]func(cmpOp) vecFn{
		{cmpIntVec[int16, int16], cmpIntVec[int16, int32], cmpIntVec[int16, int64]},
		{cmpIntVec[int32, int16], cmpIntVec[int32, int32], cmpIntVec[int32, int64]},
		{cmpIntVec[int64, int16], cmpIntVec[int64, int32], cmpIntVec[int64, int64]},
	}
	for i, a := range ints {
		for j, b := range ints {
			regCmp(r, a, b, cmpInt64, intVec[i][j])
		}
	}
	floats := []types.T{types.Float4T, types.Float8T}
	floatVec := [2][2]func(cmpOp) vecFn{
		{cmpFloatVec[float32, float32], cmpFloatVec[float32, float64]},
		{cmpFloatVec[float64, float32], cmpFloatVec[float64, float64]},
	}
	for i, a := range floats {
		for j, b := range floats {
			regCmp(r, a, b, cmpFloat64, floatVec[i][j])
		}
	}
	regCmp(r, types.DateT, types.DateT, cmpTyped[types.Date], cmpIntVec[int32, int32])
	regCmp(r, types.TimeT, types.TimeT, cmpTyped[types.TimeOfDay], cmpIntVec[int64, int64])
	regCmp(r, types.TimestampT, types.TimestampT, cmpTyped[types.Timestamp], cmpIntVec[int64, int64])
	regCmp(r, types.TimestampTZT, types.TimestampTZT, cmpTyped[types.TimestampTZ], cmpIntVec[int64, int64])
	for _, t := range []types.T{types.TextT, types.VarcharT, types.NameT} {
		regCmp(r, t, t, cmpText, cmpVarlenVec(false))
	}
	regCmp(r, types.BpcharT, types.BpcharT, cmpBpchar, cmpVarlenVec(true))
	regCmp(r, types.ByteaT, types.ByteaT, cmpBytea, cmpVarlenVec(false))
	regCmp(r, types.OidT, types.OidT, cmpInt64, cmpIntVec[int64, int64])
	regCmp(r, types.BoolT, types.BoolT, cmpGeneric(types.BoolT), cmpBoolVec)
	for _, t := range []types.T{types.NumericT, types.IntervalT} {
		regCmp(r, t, t, cmpGeneric(t), nil)
	}
	regCmp(r, types.AnyArrayT, types.AnyArrayT, cmpArray, nil)

	// Mixed date/timestamp/timestamptz: convert both sides to the wider
	// type (timestamptz through the session zone, as PostgreSQL does).
	dts := []types.T{types.DateT, types.TimestampT, types.TimestampTZT}
	for _, a := range dts {
		for _, b := range dts {
			if a.Family == b.Family {
				continue
			}
			fs := regCmp(r, a, b, cmpDatetimeMixed, nil)
			if a.Family == types.FamTimestampTZ || b.Family == types.FamTimestampTZ {
				for _, f := range fs {
					f.Volatility = kernels.Stable
				}
			}
		}
	}
}

// regCmp registers the six operators for (a, b) given a three-way
// comparator and an optional vector kernel factory.
func regCmp(r *kernels.Registry, a, b types.T, c cmpFn, vec func(cmpOp) vecFn) []*kernels.ScalarFunc {
	out := make([]*kernels.ScalarFunc, 0, 6)
	for _, op := range cmpOps() {
		name := op.name()
		var v vecFn
		if vec != nil {
			v = vec(op)
		}
		out = append(out, add(r, name, targs(a, b), types.BoolT,
			func(ctx *kernels.EvalContext, args []types.Datum) (types.Datum, error) {
				if len(args) != 2 {
					return nil, internalArg(name, args)
				}
				res, err := c(ctx, args[0], args[1])
				if err != nil {
					return nil, err
				}
				return op.holds(res), nil
			}, v))
	}
	return out
}

// Row-wise comparators.

func cmpInt64(_ *kernels.EvalContext, a, b types.Datum) (int, error) {
	x, ok1 := a.(int64)
	y, ok2 := b.(int64)
	if !ok1 || !ok2 {
		return 0, pgerror.Internal("integer comparison of %T and %T", a, b)
	}
	return cmp.Compare(x, y), nil
}

// floatCmp orders floats as PostgreSQL: NaN equals NaN and sorts above
// everything; -0 equals 0.
func floatCmp(x, y float64) int {
	xn, yn := math.IsNaN(x), math.IsNaN(y)
	switch {
	case xn && yn:
		return 0
	case xn:
		return 1
	case yn:
		return -1
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func cmpFloat64(_ *kernels.EvalContext, a, b types.Datum) (int, error) {
	x, ok1 := a.(float64)
	y, ok2 := b.(float64)
	if !ok1 || !ok2 {
		return 0, pgerror.Internal("float comparison of %T and %T", a, b)
	}
	return floatCmp(x, y), nil
}

func cmpTyped[T interface {
	types.Date | types.TimeOfDay | types.Timestamp | types.TimestampTZ
}](_ *kernels.EvalContext, a, b types.Datum) (int, error) {
	x, ok1 := a.(T)
	y, ok2 := b.(T)
	if !ok1 || !ok2 {
		return 0, pgerror.Internal("comparison of %T and %T", a, b)
	}
	return cmp.Compare(x, y), nil
}

func cmpText(_ *kernels.EvalContext, a, b types.Datum) (int, error) {
	x, ok1 := a.(string)
	y, ok2 := b.(string)
	if !ok1 || !ok2 {
		return 0, pgerror.Internal("text comparison of %T and %T", a, b)
	}
	return strings.Compare(x, y), nil
}

func cmpBpchar(_ *kernels.EvalContext, a, b types.Datum) (int, error) {
	x, ok1 := a.(string)
	y, ok2 := b.(string)
	if !ok1 || !ok2 {
		return 0, pgerror.Internal("bpchar comparison of %T and %T", a, b)
	}
	return strings.Compare(strings.TrimRight(x, " "), strings.TrimRight(y, " ")), nil
}

func cmpBytea(_ *kernels.EvalContext, a, b types.Datum) (int, error) {
	x, ok1 := a.([]byte)
	y, ok2 := b.([]byte)
	if !ok1 || !ok2 {
		return 0, pgerror.Internal("bytea comparison of %T and %T", a, b)
	}
	return bytes.Compare(x, y), nil
}

// cmpGeneric defers to the type's b-tree order in sql/types.
func cmpGeneric(t types.T) cmpFn {
	return func(_ *kernels.EvalContext, a, b types.Datum) (int, error) {
		return types.Compare(a, b, t), nil
	}
}

func cmpArray(_ *kernels.EvalContext, a, b types.Datum) (int, error) {
	x, ok1 := a.(*types.Array)
	y, ok2 := b.(*types.Array)
	if !ok1 || !ok2 {
		return 0, pgerror.Internal("array comparison of %T and %T", a, b)
	}
	if x.Elem.Family != y.Elem.Family {
		return 0, pgerror.New(pgerror.DatatypeMismatch, "cannot compare arrays of different element types")
	}
	return types.Compare(x, y, types.ArrayOf(x.Elem)), nil
}

// cmpDatetimeMixed compares a date, timestamp or timestamptz with another of
// a different kind by promoting both to the wider kind.
func cmpDatetimeMixed(ctx *kernels.EvalContext, a, b types.Datum) (int, error) {
	_, aTZ := a.(types.TimestampTZ)
	_, bTZ := b.(types.TimestampTZ)
	if aTZ || bTZ {
		x, err := toTimestampTZ(ctx, a)
		if err != nil {
			return 0, err
		}
		y, err := toTimestampTZ(ctx, b)
		if err != nil {
			return 0, err
		}
		return cmp.Compare(x, y), nil
	}
	x, err := toTimestamp(a)
	if err != nil {
		return 0, err
	}
	y, err := toTimestamp(b)
	if err != nil {
		return 0, err
	}
	return cmp.Compare(x, y), nil
}

// Vector comparators.

func cmpIntVec[A, B intT](op cmpOp) vecFn {
	return func(ctx *kernels.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		if err := checkArgs(args, n, 2); err != nil {
			return nil, err
		}
		a, b := values[A](args[0], n), values[B](args[1], n)
		if n > 0 && (a == nil || b == nil) {
			return nil, pgerror.Internal("comparison: unexpected array layout")
		}
		return boolResult(ctx, args, n, func(out []byte) { cmpIntLoop(op, a, b, out) }), nil
	}
}

func cmpIntLoop[A, B intT](op cmpOp, a []A, b []B, out []byte) {
	b = b[:len(a)]
	switch op {
	case opEq:
		for i := range a {
			out[i>>3] |= b2u(int64(a[i]) == int64(b[i])) << (i & 7)
		}
	case opNe:
		for i := range a {
			out[i>>3] |= b2u(int64(a[i]) != int64(b[i])) << (i & 7)
		}
	case opLt:
		for i := range a {
			out[i>>3] |= b2u(int64(a[i]) < int64(b[i])) << (i & 7)
		}
	case opLe:
		for i := range a {
			out[i>>3] |= b2u(int64(a[i]) <= int64(b[i])) << (i & 7)
		}
	case opGt:
		for i := range a {
			out[i>>3] |= b2u(int64(a[i]) > int64(b[i])) << (i & 7)
		}
	case opGe:
		for i := range a {
			out[i>>3] |= b2u(int64(a[i]) >= int64(b[i])) << (i & 7)
		}
	}
}

func cmpFloatVec[A, B floatT](op cmpOp) vecFn {
	return func(ctx *kernels.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		if err := checkArgs(args, n, 2); err != nil {
			return nil, err
		}
		a, b := values[A](args[0], n), values[B](args[1], n)
		if n > 0 && (a == nil || b == nil) {
			return nil, pgerror.Internal("comparison: unexpected array layout")
		}
		return boolResult(ctx, args, n, func(out []byte) { cmpFloatLoop(op, a, b, out) }), nil
	}
}

// fLt is x < y in PostgreSQL's order (NaN above everything).
func fLt(x, y float64) bool { return x < y || (x == x && y != y) }

// fLe is x <= y in PostgreSQL's order.
func fLe(x, y float64) bool { return x <= y || y != y }

// fEq is x = y in PostgreSQL's order (NaN = NaN).
func fEq(x, y float64) bool { return x == y || (x != x && y != y) }

func cmpFloatLoop[A, B floatT](op cmpOp, a []A, b []B, out []byte) {
	b = b[:len(a)]
	switch op {
	case opEq:
		for i := range a {
			out[i>>3] |= b2u(fEq(float64(a[i]), float64(b[i]))) << (i & 7)
		}
	case opNe:
		for i := range a {
			out[i>>3] |= b2u(!fEq(float64(a[i]), float64(b[i]))) << (i & 7)
		}
	case opLt:
		for i := range a {
			out[i>>3] |= b2u(fLt(float64(a[i]), float64(b[i]))) << (i & 7)
		}
	case opLe:
		for i := range a {
			out[i>>3] |= b2u(fLe(float64(a[i]), float64(b[i]))) << (i & 7)
		}
	case opGt:
		for i := range a {
			out[i>>3] |= b2u(fLt(float64(b[i]), float64(a[i]))) << (i & 7)
		}
	case opGe:
		for i := range a {
			out[i>>3] |= b2u(fLe(float64(b[i]), float64(a[i]))) << (i & 7)
		}
	}
}

// varlen returns the offsets (n+1 entries) and data bytes of a Utf8 or
// Binary array.
func varlen(a arrow.Array, n int) ([]int32, []byte, bool) {
	d := a.Data()
	bufs := d.Buffers()
	if len(bufs) < 3 || (n > 0 && bufs[1] == nil) {
		return nil, nil, n == 0
	}
	if n == 0 {
		return nil, nil, true
	}
	offs := arrow.GetData[int32](bufs[1].Bytes())
	if len(offs) < d.Offset()+n+1 {
		return nil, nil, false
	}
	offs = offs[d.Offset() : d.Offset()+n+1]
	var data []byte
	if bufs[2] != nil {
		data = bufs[2].Bytes()
	}
	if int(offs[n]) > len(data) || offs[0] < 0 {
		return nil, nil, false
	}
	return offs, data, true
}

func trimSpaces(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == ' ' {
		b = b[:len(b)-1]
	}
	return b
}

func cmpVarlenVec(bpchar bool) func(cmpOp) vecFn {
	return func(op cmpOp) vecFn {
		return func(ctx *kernels.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
			if err := checkArgs(args, n, 2); err != nil {
				return nil, err
			}
			ao, ad, ok1 := varlen(args[0], n)
			bo, bd, ok2 := varlen(args[1], n)
			if !ok1 || !ok2 {
				return nil, pgerror.Internal("comparison: unexpected string array layout")
			}
			return boolResult(ctx, args, n, func(out []byte) {
				if n == 0 {
					return
				}
				ao, bo := ao[:n+1], bo[:n+1]
				switch {
				case !bpchar && (op == opEq || op == opNe):
					ne := b2u(op == opNe)
					for i := 0; i < n; i++ {
						as, ae, bs, be := ao[i], ao[i+1], bo[i], bo[i+1]
						eq := ae-as == be-bs && string(ad[as:ae]) == string(bd[bs:be])
						out[i>>3] |= (b2u(eq) ^ ne) << (i & 7)
					}
				default:
					for i := 0; i < n; i++ {
						x, y := ad[ao[i]:ao[i+1]], bd[bo[i]:bo[i+1]]
						if bpchar {
							x, y = trimSpaces(x), trimSpaces(y)
						}
						out[i>>3] |= b2u(op.holds(bytes.Compare(x, y))) << (i & 7)
					}
				}
			}), nil
		}
	}
}
