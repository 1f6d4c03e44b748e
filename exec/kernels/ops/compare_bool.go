package ops

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// cmpBoolVec compares two Boolean arrays word-wise on their value bitmaps
// (false < true): = is XNOR, <> XOR, < is b AND NOT a, > is a AND NOT b,
// and <= / >= are the complements of > / <.
func cmpBoolVec(op cmpOp) vecFn {
	return func(ctx *kernels.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		if err := checkArgs(args, n, 2); err != nil {
			return nil, err
		}
		ad, bd := args[0].Data(), args[1].Data()
		if n > 0 && (len(ad.Buffers()) < 2 || ad.Buffers()[1] == nil || len(bd.Buffers()) < 2 || bd.Buffers()[1] == nil) {
			return nil, pgerror.Internal("boolean comparison: unexpected array layout")
		}
		return boolResult(ctx, args, n, func(out []byte) {
			if n == 0 {
				return
			}
			a, b := ad.Buffers()[1].Bytes(), bd.Buffers()[1].Bytes()
			ao, bo, ln := int64(ad.Offset()), int64(bd.Offset()), int64(n)
			switch op {
			case opEq:
				bitutil.BitmapXnor(a, b, ao, bo, out, 0, ln)
			case opNe:
				bitutil.BitmapXor(a, b, ao, bo, out, 0, ln)
			case opLt, opGe:
				bitutil.BitmapAndNot(b, a, bo, ao, out, 0, ln)
			case opGt, opLe:
				bitutil.BitmapAndNot(a, b, ao, bo, out, 0, ln)
			}
			if op == opLe || op == opGe {
				bitutil.InvertBitmap(out, 0, n, out, 0)
			}
		}), nil
	}
}
