//go:build !linux

package hugepage

import "unsafe"

// Advise is a no-op where transparent huge pages cannot be asked for.
func Advise(unsafe.Pointer, uintptr) {}
