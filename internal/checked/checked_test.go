package checked

import (
	"math"
	"math/big"
	"testing"
)

// Add and Sub agree with big-integer arithmetic, reporting exactly the
// results outside int64.
func TestAgainstBig(t *testing.T) {
	vals := []int64{math.MinInt64, math.MinInt64 + 1, -1 << 40, -2, -1, 0, 1, 2, 1 << 40, math.MaxInt64 - 1, math.MaxInt64}
	fits := func(z *big.Int) bool { return z.IsInt64() }
	for _, a := range vals {
		for _, b := range vals {
			ba, bb := big.NewInt(a), big.NewInt(b)
			for _, c := range []struct {
				name string
				f    func(int64, int64) (int64, bool)
				want *big.Int
			}{
				{"add", Add, new(big.Int).Add(ba, bb)},
				{"sub", Sub, new(big.Int).Sub(ba, bb)},
			} {
				got, ok := c.f(a, b)
				if ok != fits(c.want) || (ok && got != c.want.Int64()) {
					t.Errorf("%s(%d, %d) = %d, %v; want %s", c.name, a, b, got, ok, c.want)
				}
			}
		}
	}
}
