//go:build !amd64

package columnar

import "unsafe"

// prefetch is a no-op on this architecture (see prefetch_amd64.go).
func prefetch(p unsafe.Pointer) {}
