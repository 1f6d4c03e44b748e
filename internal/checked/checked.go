// Package checked is int64 arithmetic that reports overflow instead of
// wrapping (timestamps in microseconds, window bounds, join band offsets).
package checked

// Add returns a + b, and false when it overflows.
func Add(a, b int64) (int64, bool) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, false
	}
	return s, true
}

// Sub returns a - b, and false when it overflows.
func Sub(a, b int64) (int64, bool) {
	s := a - b
	if (b > 0 && s > a) || (b < 0 && s < a) {
		return 0, false
	}
	return s, true
}
