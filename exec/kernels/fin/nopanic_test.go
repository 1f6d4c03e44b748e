package fin

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// TestMalformedCallsAreErrors feeds every aggregate and scalar arrays of
// the wrong Arrow type and arrays shorter than the row count: each must
// return an internal error, never panic.
func TestMalformedCallsAreErrors(t *testing.T) {
	ib := array.NewInt32Builder(memory.DefaultAllocator)
	ib.AppendValues([]int32{1, 2, 3}, nil)
	wrong := ib.NewArray()
	ib.Release()
	defer wrong.Release()
	short := fcol{v: []float64{1}}.array()
	defer short.Release()
	reg := newReg()
	for _, name := range reg.AggNames() {
		for _, fn := range reg.Aggs(name) {
			argT := append([]types.T(nil), fn.Args...)
			if len(argT) == 1 && argT[0].Family == types.FamAny {
				argT[0] = types.Float8T
			}
			for _, bad := range []arrow.Array{wrong, short} {
				args := make([]arrow.Array, len(argT))
				for i := range args {
					args[i] = bad
				}
				acc := fn.New(argT, fn.ResultType(argT))
				acc.Grow(1)
				var err error
				require.NotPanics(t, func() { err = acc.Update(&kernels.EvalContext{}, []uint32{0, 0, 0}, args) }, "%s%v", name, argT)
				require.Equal(t, pgerror.InternalError, pgerror.CodeOf(err), "%s%v: %v", name, argT, err)
			}
		}
	}
	for _, name := range reg.ScalarNames() {
		for _, fn := range reg.Scalars(name) {
			if fn.Vec == nil {
				continue
			}
			for _, bad := range []arrow.Array{wrong, short} {
				args := make([]arrow.Array, len(fn.Args))
				for i := range args {
					args[i] = bad
				}
				var err error
				require.NotPanics(t, func() { _, err = fn.Vec(&kernels.EvalContext{}, args, 3) }, name)
				require.Equal(t, pgerror.InternalError, pgerror.CodeOf(err), "%s: %v", name, err)
			}
			_, err := fn.Eval(&kernels.EvalContext{}, []types.Datum{"x"})
			require.Equal(t, pgerror.InternalError, pgerror.CodeOf(err), name)
		}
	}
}
