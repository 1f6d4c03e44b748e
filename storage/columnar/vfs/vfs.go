package vfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// File is an open file.
type File interface {
	io.Writer
	io.ReaderAt
	io.Closer
	Sync() error
	Size() (int64, error)
}

// FS is the filesystem interface.
type FS interface {
	// Create creates or truncates name for writing.
	Create(name string) (File, error)
	// Open opens name for reading; a missing file is fs.ErrNotExist.
	Open(name string) (File, error)
	Remove(name string) error
	// Rename atomically replaces newname by oldname.
	Rename(oldname, newname string) error
	// List returns the file names, sorted.
	List() ([]string, error)
	// SyncDir makes creations, renames and removals durable.
	SyncDir() error
}

// OS is an FS rooted at a directory of the real filesystem.
type OS struct{ dir string }

// NewOS returns an FS rooted at dir, creating it if needed.
func NewOS(dir string) (*OS, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("vfs: %w", err)
	}
	return &OS{dir: dir}, nil
}

type osFile struct{ *os.File }

func (f osFile) Size() (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

func (o *OS) path(name string) string { return filepath.Join(o.dir, filepath.Base(name)) }

// Create implements FS.
func (o *OS) Create(name string) (File, error) {
	f, err := os.OpenFile(o.path(name), os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

// Open implements FS.
func (o *OS) Open(name string) (File, error) {
	f, err := os.Open(o.path(name))
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

// Remove implements FS.
func (o *OS) Remove(name string) error { return os.Remove(o.path(name)) }

// Rename implements FS.
func (o *OS) Rename(a, b string) error { return os.Rename(o.path(a), o.path(b)) }

// List implements FS.
func (o *OS) List() ([]string, error) {
	ents, err := os.ReadDir(o.dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// SyncDir implements FS.
func (o *OS) SyncDir() error {
	d, err := os.Open(o.dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Mem is an in-memory FS. Contents survive Close/reopen of files (like a
// process restart), not a power loss.
type Mem struct {
	mu    sync.Mutex
	files map[string]*memData
}

type memData struct {
	mu  sync.RWMutex
	buf []byte
}

// NewMem returns an empty in-memory FS.
func NewMem() *Mem { return &Mem{files: make(map[string]*memData)} }

type memFile struct {
	d        *memData
	writable bool
	closed   bool
}

func (f *memFile) Write(p []byte) (int, error) {
	if f.closed || !f.writable {
		return 0, errors.New("vfs: write to read-only or closed file")
	}
	f.d.mu.Lock()
	f.d.buf = append(f.d.buf, p...)
	f.d.mu.Unlock()
	return len(p), nil
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.d.mu.RLock()
	defer f.d.mu.RUnlock()
	if off < 0 {
		return 0, errors.New("vfs: negative offset")
	}
	if off >= int64(len(f.d.buf)) {
		return 0, io.EOF
	}
	n := copy(p, f.d.buf[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Close() error { f.closed = true; return nil }
func (f *memFile) Sync() error  { return nil }
func (f *memFile) Size() (int64, error) {
	f.d.mu.RLock()
	defer f.d.mu.RUnlock()
	return int64(len(f.d.buf)), nil
}

// Create implements FS.
func (m *Mem) Create(name string) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := &memData{}
	m.files[name] = d
	return &memFile{d: d, writable: true}, nil
}

// Open implements FS.
func (m *Mem) Open(name string) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.files[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return &memFile{d: d}, nil
}

// Remove implements FS.
func (m *Mem) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.files[name]; !ok {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	delete(m.files, name)
	return nil
}

// Rename implements FS.
func (m *Mem) Rename(a, b string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.files[a]
	if !ok {
		return &fs.PathError{Op: "rename", Path: a, Err: fs.ErrNotExist}
	}
	delete(m.files, a)
	m.files[b] = d
	return nil
}

// List implements FS.
func (m *Mem) List() ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	names := make([]string, 0, len(m.files))
	for n := range m.files {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, nil
}

// SyncDir implements FS.
func (m *Mem) SyncDir() error { return nil }

// Truncate cuts name to size bytes (for corruption tests).
func (m *Mem) Truncate(name string, size int64) error {
	m.mu.Lock()
	d, ok := m.files[name]
	m.mu.Unlock()
	if !ok {
		return fs.ErrNotExist
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if size < int64(len(d.buf)) {
		d.buf = d.buf[:size]
	}
	return nil
}

// FlipByte XORs one byte of name with 0xff (for corruption tests).
func (m *Mem) FlipByte(name string, off int64) error { return m.XorByte(name, off, 0xff) }

// XorByte XORs the byte of name at off with mask (for corruption tests:
// a mask of one bit flips that bit).
func (m *Mem) XorByte(name string, off int64, mask byte) error {
	m.mu.Lock()
	d, ok := m.files[name]
	m.mu.Unlock()
	if !ok {
		return fs.ErrNotExist
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if off >= int64(len(d.buf)) {
		return io.EOF
	}
	d.buf = bytes.Clone(d.buf)
	d.buf[off] ^= mask
	return nil
}
