package vec

import "unsafe"

// BytesView returns b's bytes as a string without copying. The string is
// valid only while b is neither modified nor released: use it for lookups,
// comparisons and hashing, never store it.
func BytesView(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// stringBytes returns s's bytes without copying; they must not be modified.
func stringBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
