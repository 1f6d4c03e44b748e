//go:build !linux

package hashindex

import "unsafe"

// adviseHuge is a no-op where transparent huge pages cannot be asked for.
func adviseHuge(unsafe.Pointer, uintptr) {}
