//go:build !linux

package state

import "unsafe"

// adviseHuge is a no-op where transparent huge pages cannot be asked for.
func adviseHuge(unsafe.Pointer, uintptr) {}
