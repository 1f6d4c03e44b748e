package ops

import (
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// intT are the integer value types of Arrow columns the kernels specialise on
// (int2/int4/int8, date32, time64 and timestamps reinterpret as these).
type intT interface{ ~int16 | ~int32 | ~int64 }

// floatT are the float value types (float4, float8).
type floatT interface{ ~float32 | ~float64 }

// fixedT is any fixed-width value a kernel reads or writes.
type fixedT interface{ intT | floatT }

func allocator(ctx *kernels.EvalContext) memory.Allocator {
	if ctx != nil && ctx.Mem != nil {
		return ctx.Mem
	}
	return memory.DefaultAllocator
}

// validity ANDs the validity bitmaps of args (each of length n) into a fresh
// bitmap. It returns nil when no argument has a NULL, and the NULL count.
func validity(mem memory.Allocator, args []arrow.Array, n int) (*memory.Buffer, int) {
	var out *memory.Buffer
	nbytes := int(bitutil.BytesForBits(int64(n)))
	for _, a := range args {
		if a.NullN() == 0 {
			continue
		}
		d := a.Data()
		bm := d.Buffers()[0]
		if bm == nil || a.DataType().ID() == arrow.NULL {
			// An all-NULL array (arrow.Null has no bitmap).
			if out == nil {
				out = memory.NewResizableBuffer(mem)
				out.Resize(nbytes)
			}
			clear(out.Bytes())
			return out, n
		}
		if out == nil {
			out = memory.NewResizableBuffer(mem)
			out.Resize(nbytes)
			bitutil.CopyBitmap(bm.Bytes(), d.Offset(), n, out.Bytes(), 0)
			continue
		}
		next := memory.NewResizableBuffer(mem)
		next.Resize(nbytes)
		bitutil.BitmapAnd(out.Bytes(), bm.Bytes(), 0, int64(d.Offset()), next.Bytes(), 0, int64(n))
		out.Release()
		out = next
	}
	if out == nil {
		return nil, 0
	}
	return out, n - bitutil.CountSetBits(out.Bytes(), 0, n)
}

// isValid reports whether slot i is non-NULL in a combined bitmap (nil = all valid).
func isValid(bm []byte, i int) bool { return bm == nil || bitutil.BitIsSet(bm, i) }

// values returns the value slice of a fixed-width array, offset applied.
func values[T fixedT](a arrow.Array, n int) []T {
	v := arrow.GetValues[T](a.Data(), 1)
	if len(v) < n {
		return nil
	}
	return v[:n]
}

func checkArgs(args []arrow.Array, n, want int) error {
	if len(args) != want {
		return pgerror.Internal("kernel expects %d arguments, got %d", want, len(args))
	}
	for _, a := range args {
		if a.Len() != n {
			return pgerror.Internal("kernel argument has length %d, want %d", a.Len(), n)
		}
	}
	return nil
}

// binaryFixed runs loop over the value slices of two fixed-width arrays and
// builds a result array of type rt. loop receives the combined validity
// bitmap (nil when nothing is NULL) and must only report errors for valid slots.
func binaryFixed[A, B, R fixedT](ctx *kernels.EvalContext, args []arrow.Array, n int, rt arrow.DataType,
	loop func(a []A, b []B, r []R, valid []byte) error) (arrow.Array, error) {
	if err := checkArgs(args, n, 2); err != nil {
		return nil, err
	}
	mem := allocator(ctx)
	vbuf, nulls := validity(mem, args, n)
	var r0 R
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(n * int(unsafe.Sizeof(r0)))
	r := arrow.GetData[R](buf.Bytes())[:n]
	var vb []byte
	if vbuf != nil {
		vb = vbuf.Bytes()
	}
	a, b := values[A](args[0], n), values[B](args[1], n)
	if n > 0 && (a == nil || b == nil) {
		buf.Release()
		if vbuf != nil {
			vbuf.Release()
		}
		return nil, pgerror.Internal("kernel: argument arrays have unexpected layout")
	}
	if err := loop(a, b, r, vb); err != nil {
		buf.Release()
		if vbuf != nil {
			vbuf.Release()
		}
		return nil, err
	}
	return finish(rt, n, vbuf, buf, nulls), nil
}

// unaryFixed is binaryFixed for one argument.
func unaryFixed[A, R fixedT](ctx *kernels.EvalContext, args []arrow.Array, n int, rt arrow.DataType,
	loop func(a []A, r []R, valid []byte) error) (arrow.Array, error) {
	if err := checkArgs(args, n, 1); err != nil {
		return nil, err
	}
	mem := allocator(ctx)
	vbuf, nulls := validity(mem, args, n)
	var r0 R
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(n * int(unsafe.Sizeof(r0)))
	r := arrow.GetData[R](buf.Bytes())[:n]
	var vb []byte
	if vbuf != nil {
		vb = vbuf.Bytes()
	}
	a := values[A](args[0], n)
	if n > 0 && a == nil {
		buf.Release()
		if vbuf != nil {
			vbuf.Release()
		}
		return nil, pgerror.Internal("kernel: argument array has unexpected layout")
	}
	if err := loop(a, r, vb); err != nil {
		buf.Release()
		if vbuf != nil {
			vbuf.Release()
		}
		return nil, err
	}
	return finish(rt, n, vbuf, buf, nulls), nil
}

// finish wraps validity and value buffers into an array, taking ownership.
func finish(rt arrow.DataType, n int, vbuf, buf *memory.Buffer, nulls int) arrow.Array {
	data := array.NewData(rt, n, []*memory.Buffer{vbuf, buf}, nil, nulls, 0)
	buf.Release()
	if vbuf != nil {
		vbuf.Release()
	}
	defer data.Release()
	return array.MakeFromData(data)
}

// boolResult builds a Boolean array from a predicate over pairs of slots.
// pred is called once per batch with the output bit buffer; it sets bit i
// when the predicate holds (NULL slots may hold anything).
func boolResult(ctx *kernels.EvalContext, args []arrow.Array, n int, pred func(out []byte)) arrow.Array {
	mem := allocator(ctx)
	vbuf, nulls := validity(mem, args, n)
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(int(bitutil.BytesForBits(int64(n))))
	clear(buf.Bytes())
	pred(buf.Bytes())
	return finish(arrow.FixedWidthTypes.Boolean, n, vbuf, buf, nulls)
}

// b2u converts a bool to 0/1 without a branch.
func b2u(b bool) byte {
	if b {
		return 1
	}
	return 0
}
