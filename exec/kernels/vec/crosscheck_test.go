package vec

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels/vec/vectest"
	"github.com/sabotsql/sabotsql/sql/types"
)

func sign(x int) int {
	switch {
	case x < 0:
		return -1
	case x > 0:
		return 1
	}
	return 0
}

// TestAgreesWithTypesCompare checks the kernels' order and equality against
// package types (Compare and AppendKey), the row-at-a-time reference the
// rest of the engine uses.
func TestAgreesWithTypesCompare(t *testing.T) {
	r := newRand(t)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, typ := range vectest.TestTypes {
		arr, ds := vectest.RandArray(r, mem, typ, 60, 0)
		for i := range ds {
			for j := range ds {
				want := sign(types.Compare(ds[i], ds[j], typ))
				require.Equal(t, want, sign(CompareValues(typ, arr, i, arr, j)), "%v: %v vs %v", typ, ds[i], ds[j])
				ki := types.AppendKey(nil, ds[i], typ)
				kj := types.AppendKey(nil, ds[j], typ)
				require.Equal(t, want == 0, string(ki) == string(kj), "%v AppendKey equality: %v vs %v", typ, ds[i], ds[j])
			}
		}
		arr.Release()
	}
}
