package fin

import (
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// growTo extends s with zero values to length n.
func growTo[T any](s []T, n int) []T {
	if n <= len(s) {
		return s
	}
	if n <= cap(s) {
		old := len(s)
		s = s[:n]
		clear(s[old:])
		return s
	}
	return append(s, make([]T, n-len(s))...)
}

// col is a borrowed view of one fixed-width argument: its values, its
// validity bitmap (nil when the batch has no NULLs) and whether the whole
// argument is NULL (an Arrow Null array, e.g. a literal NULL).
type col[T arrow.FixedWidthType] struct {
	vals    []T
	vm      []byte
	off     int
	allNull bool
}

// valid reports whether row i holds a value.
func (c *col[T]) valid(i int) bool {
	return !c.allNull && (c.vm == nil || bitutil.BitIsSet(c.vm, c.off+i))
}

// fixedArg reads argument k of an aggregate or function call. It checks
// the argument count, the Arrow type and that the array covers n rows, so
// a malformed call is an internal error, never an index panic.
func fixedArg[T arrow.FixedWidthType, A arrow.Array](fn string, args []arrow.Array, k, n int) (col[T], error) {
	if k >= len(args) {
		return col[T]{}, pgerror.Internal("%s expects at least %d arguments, got %d", fn, k+1, len(args))
	}
	a := args[k]
	if _, isNull := a.(*array.Null); isNull {
		return col[T]{allNull: true}, nil
	}
	if _, ok := a.(A); !ok {
		var want A
		return col[T]{}, pgerror.Internal("%s: argument %d is %T, expected %T", fn, k+1, a, want)
	}
	if a.Len() < n {
		return col[T]{}, pgerror.Internal("%s: argument %d has %d rows, expected %d", fn, k+1, a.Len(), n)
	}
	vals := vec.Values[T](a)
	if len(vals) < n {
		if a.NullN() == a.Len() {
			return col[T]{allNull: true}, nil // an all-NULL array without a value buffer
		}
		return col[T]{}, pgerror.Internal("%s: argument %d has %d values, expected %d", fn, k+1, len(vals), n)
	}
	vm, off := vec.Validity(a)
	return col[T]{vals: vals, vm: vm, off: off}, nil
}

// floatArg reads a float8 argument.
func floatArg(fn string, args []arrow.Array, k, n int) (col[float64], error) {
	return fixedArg[float64, *array.Float64](fn, args, k, n)
}

// resulter is an accumulator that reports single groups.
type resulter interface {
	kernels.GroupedAcc
	kernels.GroupResulter
}

// finishAll appends every group's result in order through AppendResult.
func finishAll(ctx *kernels.EvalContext, acc resulter, n int, b array.Builder) error {
	b.Reserve(n)
	for g := 0; g < n; g++ {
		if err := acc.AppendResult(ctx, uint32(g), b); err != nil {
			return err
		}
	}
	return nil
}

// float64Builder asserts the float8 result builder.
func float64Builder(fn string, b array.Builder) (*array.Float64Builder, error) {
	bb, ok := b.(*array.Float64Builder)
	if !ok {
		return nil, pgerror.Internal("%s: result builder is %T, expected *array.Float64Builder", fn, b)
	}
	return bb, nil
}

// appendFloat appends v, or NULL when ok is false.
func appendFloat(bb *array.Float64Builder, v float64, ok bool) {
	if ok {
		bb.Append(v)
	} else {
		bb.AppendNull()
	}
}

// errRange is the 22023 error of a smoothing parameter outside its range.
func errRange(fn, param, rng string, v float64) error {
	return pgerror.New(pgerror.InvalidParameterValue, "%s: %s must be in %s, got %v", fn, param, rng, v)
}

// ksum is a compensated (Kahan–Babuška–Neumaier, via Knuth's branch-free
// TwoSum) running sum: hi+lo carries about twice float64's precision, so
// long sums and sums whose terms cancel (retractions) keep their accuracy.
type ksum struct{ hi, lo float64 }

// add adds x.
func (s *ksum) add(x float64) {
	t := s.hi + x
	bp := t - s.hi
	s.lo += (s.hi - (t - bp)) + (x - bp)
	s.hi = t
}

// addProd adds the exact product a·b (TwoProduct through FMA).
func (s *ksum) addProd(a, b float64) {
	p := a * b
	s.add(p)
	if !math.IsInf(p, 0) && !math.IsNaN(p) {
		s.lo += math.FMA(a, b, -p)
	}
}

// value returns the rounded sum. A sum that has seen an infinity or NaN
// reports it as plain float addition would.
func (s *ksum) value() float64 {
	v := s.hi + s.lo
	if math.IsNaN(v) && !math.IsNaN(s.hi) {
		return s.hi
	}
	return v
}
