package vfs

import (
	"strings"
	"sync"
	"syscall"
)

// ErrInjected is the error a Fault FS returns for injected write and sync
// failures (other than ENOSPC).
var ErrInjected = syscall.EIO

// Fault wraps an FS and fails operations on demand, for fault-injection
// tests. Its knobs may be changed while it is in use.
type Fault struct {
	FS
	mu        sync.Mutex
	writeErr  error
	syncErr   error
	createErr error
	match     string
}

// NewFault wraps fs with no faults armed.
func NewFault(fs FS) *Fault { return &Fault{FS: fs} }

// FailWrites makes writes to files whose name contains match fail with err
// (nil disarms). Use syscall.ENOSPC for a full disk.
func (f *Fault) FailWrites(match string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.match, f.writeErr = match, err
}

// FailSyncs makes File.Sync and SyncDir fail with err (nil disarms).
func (f *Fault) FailSyncs(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.syncErr = err
}

// FailCreates makes Create fail with err (nil disarms).
func (f *Fault) FailCreates(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.createErr = err
}

func (f *Fault) faults(name string) (write, sync error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.writeErr != nil && strings.Contains(name, f.match) {
		write = f.writeErr
	}
	return write, f.syncErr
}

type faultFile struct {
	File
	f    *Fault
	name string
}

func (ff *faultFile) Write(p []byte) (int, error) {
	if w, _ := ff.f.faults(ff.name); w != nil {
		return 0, w
	}
	return ff.File.Write(p)
}

func (ff *faultFile) Sync() error {
	if _, s := ff.f.faults(ff.name); s != nil {
		return s
	}
	return ff.File.Sync()
}

// Create implements FS.
func (f *Fault) Create(name string) (File, error) {
	f.mu.Lock()
	ce := f.createErr
	f.mu.Unlock()
	if ce != nil {
		return nil, ce
	}
	fl, err := f.FS.Create(name)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: fl, f: f, name: name}, nil
}

// Open implements FS; Sync on the opened file is subject to FailSyncs.
func (f *Fault) Open(name string) (File, error) {
	fl, err := f.FS.Open(name)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: fl, f: f, name: name}, nil
}

// SyncDir implements FS.
func (f *Fault) SyncDir() error {
	if _, s := f.faults(""); s != nil {
		return s
	}
	return f.FS.SyncDir()
}
