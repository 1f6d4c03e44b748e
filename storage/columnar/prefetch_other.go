//go:build !amd64 && !arm64

package columnar

import "unsafe"

// prefetch is a no-op on this architecture (see prefetch_asm.go).
func prefetch(p unsafe.Pointer) {}
