package meta

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/stretchr/testify/require"
)

const testDir = "data/meta"

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openFS(t testing.TB, fs vfs.FS) *Store {
	t.Helper()
	s, err := Open(testDir, Options{FS: fs, Logger: quietLogger()})
	require.NoError(t, err)
	return s
}

// faults is an errorfs.Injector that fails the operations its predicate
// selects with err while armed.
type faults struct {
	mu    sync.Mutex
	err   error
	match func(errorfs.Op) bool
	hits  int
}

func (f *faults) String() string { return "test faults" }

func (f *faults) MaybeError(op errorfs.Op) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil || !f.match(op) {
		return nil
	}
	f.hits++
	return fmt.Errorf("injected on %s: %w", op.Path, f.err)
}

func (f *faults) arm(err error, match func(errorfs.Op) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err, f.match, f.hits = err, match, 0
}

func (f *faults) disarm() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = nil
	return f.hits
}

func isWrite(op errorfs.Op) bool {
	switch op.Kind {
	case errorfs.OpFileWrite, errorfs.OpFileWriteAt, errorfs.OpCreate, errorfs.OpReuseForWrite, errorfs.OpFilePreallocate:
		return true
	}
	return false
}

func isSync(op errorfs.Op) bool {
	switch op.Kind {
	case errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo:
		return true
	}
	return false
}

func requireCode(t testing.TB, err error, code string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, pgerror.CodeOf(err), "error: %v", err)
}

// manifest builds a manifest with n state tables of two files each.
func manifest(epoch uint64, n int) Manifest {
	m := Manifest{Epoch: epoch}
	for i := 0; i < n; i++ {
		m.Tables = append(m.Tables, TableFiles{
			TableID: uint64(i + 1),
			Files:   []string{fmt.Sprintf("state/%d/%06d.arrow", i+1, epoch), fmt.Sprintf("state/%d/%06d-l1.arrow", i+1, epoch)},
		})
	}
	m.Offsets = []SourceOffset{{SourceID: 7, Split: "p0", Offset: []byte(fmt.Sprint(epoch * 10))}, {SourceID: 7, Split: "p1", Offset: nil}}
	m.Watermarks = []Watermark{{ObjectID: 9, Column: "ts", Value: -int64(epoch)}, {ObjectID: 9, Column: "ts2", Value: int64(epoch) << 40}}
	return m
}
