//go:build !linux

package stream

import "unsafe"

func rollAdviseHuge(unsafe.Pointer, uintptr) {}
