package meta

import (
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/stretchr/testify/require"
)

func collectObjects(t *testing.T, s *Store, kind uint64) []Object {
	t.Helper()
	var out []Object
	for o, err := range s.Objects(kind) {
		require.NoError(t, err)
		out = append(out, o)
	}
	return out
}

func TestObjectsRoundTripAndReopen(t *testing.T) {
	fs := vfs.NewMem()
	s := openFS(t, fs)
	require.NoError(t, s.PutObject(1, 10, 1, []byte("table t")))
	require.NoError(t, s.PutObject(1, 3, 1, []byte("table a")))
	require.NoError(t, s.PutObject(2, 10, 5, []byte("mv m")))
	require.NoError(t, s.PutObject(math.MaxUint64, 1, 1, nil))
	require.NoError(t, s.PutObject(1, 10, 2, []byte("table t v2")))

	check := func(s *Store) {
		got := collectObjects(t, s, 1)
		require.Equal(t, []Object{
			{Kind: 1, ID: 3, Version: 1, Payload: []byte("table a")},
			{Kind: 1, ID: 10, Version: 2, Payload: []byte("table t v2")},
		}, got)
		o, ok, err := s.GetObject(2, 10)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, Object{Kind: 2, ID: 10, Version: 5, Payload: []byte("mv m")}, o)
		_, ok, err = s.GetObject(2, 11)
		require.NoError(t, err)
		require.False(t, ok)
		require.Len(t, collectObjects(t, s, math.MaxUint64), 1)
		require.Empty(t, collectObjects(t, s, 3))
	}
	check(s)
	require.NoError(t, s.Close())
	s = openFS(t, fs)
	check(s)

	require.NoError(t, s.DeleteObject(1, 3))
	require.NoError(t, s.DeleteObject(1, 999)) // missing: no error
	require.Equal(t, []uint64{10}, objectIDs(collectObjects(t, s, 1)))

	// The loop body may write to the store.
	for o, err := range s.Objects(1) {
		require.NoError(t, err)
		require.NoError(t, s.DeleteObject(o.Kind, o.ID))
	}
	require.Empty(t, collectObjects(t, s, 1))
	require.NoError(t, s.Close())
}

func objectIDs(os []Object) []uint64 {
	var ids []uint64
	for _, o := range os {
		ids = append(ids, o.ID)
	}
	return ids
}

func TestBatchIsAtomicAndOrdered(t *testing.T) {
	fs := vfs.NewMem()
	s := openFS(t, fs)
	b := s.NewBatch()
	b.PutObject(1, 1, 1, []byte("a"))
	b.PutObject(1, 2, 1, []byte("b"))
	b.DeleteObject(1, 1) // later ops win
	b.PutSetting("barrier_interval", []byte("100ms"))
	require.Equal(t, 4, b.Len())
	require.Empty(t, collectObjects(t, s, 1), "nothing visible before Commit")
	require.NoError(t, b.Commit())
	require.Equal(t, []uint64{2}, objectIDs(collectObjects(t, s, 1)))
	v, ok, err := s.Setting("barrier_interval")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "100ms", string(v))
	require.NoError(t, s.NewBatch().Commit(), "empty batch")
	require.NoError(t, s.Close())
}

func TestNextIDPersistsAndIncreases(t *testing.T) {
	fs := vfs.NewMem()
	s := openFS(t, fs)
	var ids []uint64
	for i := 0; i < 5; i++ {
		id, err := s.NextID()
		require.NoError(t, err)
		ids = append(ids, id)
	}
	require.Equal(t, []uint64{1, 2, 3, 4, 5}, ids)
	require.NoError(t, s.Close())
	s = openFS(t, fs)
	id, err := s.NextID()
	require.NoError(t, err)
	require.Equal(t, uint64(6), id)
	require.NoError(t, s.Close())
}

func TestSettings(t *testing.T) {
	fs := vfs.NewMem()
	s := openFS(t, fs)
	require.NoError(t, s.PutSetting("a", []byte("1")))
	require.NoError(t, s.PutSetting("b", []byte{}))
	require.NoError(t, s.PutSetting("a", []byte("2")))
	require.NoError(t, s.Close())
	s = openFS(t, fs)
	all, err := s.Settings()
	require.NoError(t, err)
	require.Equal(t, map[string][]byte{"a": []byte("2"), "b": {}}, all)
	require.NoError(t, s.DeleteSetting("a"))
	_, ok, err := s.Setting("a")
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, s.Close())
}

func TestTimers(t *testing.T) {
	fs := vfs.NewMem()
	s := openFS(t, fs)
	require.NoError(t, s.PutTimer(1, []byte("w1"), 100))
	require.NoError(t, s.PutTimer(1, []byte("w2"), -5))
	require.NoError(t, s.PutTimer(2, []byte("w1"), 100))
	require.NoError(t, s.PutTimer(2, []byte("late"), math.MaxInt64))
	require.NoError(t, s.PutTimer(1, []byte("moved"), 50))
	require.NoError(t, s.PutTimer(1, []byte("moved"), 500)) // replaces the 50 entry
	require.NoError(t, s.Close())
	s = openFS(t, fs)

	due := func(upTo int64) []Timer {
		var out []Timer
		for tm, err := range s.DueTimers(upTo) {
			require.NoError(t, err)
			out = append(out, tm)
		}
		return out
	}
	require.Empty(t, due(-6))
	require.Equal(t, []Timer{{ViewID: 1, Key: []byte("w2"), FireAt: -5}}, due(99))
	require.Equal(t, []Timer{
		{ViewID: 1, Key: []byte("w2"), FireAt: -5},
		{ViewID: 1, Key: []byte("w1"), FireAt: 100},
		{ViewID: 2, Key: []byte("w1"), FireAt: 100},
	}, due(100))
	all := due(math.MaxInt64)
	require.Len(t, all, 5)
	require.Equal(t, Timer{ViewID: 2, Key: []byte("late"), FireAt: math.MaxInt64}, all[4])
	require.Equal(t, Timer{ViewID: 1, Key: []byte("moved"), FireAt: 500}, all[3])

	// Fire and delete inside the loop.
	for tm, err := range s.DueTimers(100) {
		require.NoError(t, err)
		require.NoError(t, s.DeleteTimer(tm.ViewID, tm.Key))
	}
	require.NoError(t, s.DeleteTimer(9, []byte("none")))
	require.Len(t, due(math.MaxInt64), 2)
	require.NoError(t, s.Close())
}

func TestCheckpointsRetentionAndLiveFiles(t *testing.T) {
	fs := vfs.NewMem()
	s, err := Open(testDir, Options{FS: fs, Logger: quietLogger(), RetainCheckpoints: 2})
	require.NoError(t, err)
	_, ok, err := s.LatestCheckpoint()
	require.NoError(t, err)
	require.False(t, ok)
	live, err := s.LiveFiles()
	require.NoError(t, err)
	require.Empty(t, live)

	for e := uint64(1); e <= 4; e++ {
		require.NoError(t, s.CommitCheckpoint(manifest(e*10, 3)))
	}
	err = s.CommitCheckpoint(manifest(40, 1))
	requireCode(t, err, pgerror.ObjectNotInPrerequisiteState)
	require.ErrorIs(t, err, ErrStaleEpoch)
	err = s.CommitCheckpoint(manifest(5, 1))
	require.ErrorIs(t, err, ErrStaleEpoch)
	require.NoError(t, s.Close())

	s = openFS(t, fs)
	m, ok, err := s.LatestCheckpoint()
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, manifest(40, 3), m)
	ms, err := s.Checkpoints()
	require.NoError(t, err)
	require.Equal(t, []uint64{30, 40}, []uint64{ms[0].Epoch, ms[1].Epoch})

	live, err = s.LiveFiles()
	require.NoError(t, err)
	var names []string
	for f := range live {
		names = append(names, f)
	}
	slices.Sort(names)
	require.Len(t, names, 12)
	require.Contains(t, live, "state/1/000030.arrow")
	require.Contains(t, live, "state/3/000040-l1.arrow")
	require.NotContains(t, live, "state/1/000020.arrow", "files of dropped manifests are garbage")
	require.NoError(t, s.Close())
}

func TestManifestEncodingEdgeCases(t *testing.T) {
	for _, m := range []Manifest{
		{Epoch: 1},
		{Epoch: math.MaxUint64, Tables: []TableFiles{{TableID: math.MaxUint64}}},
		{Epoch: 2, Offsets: []SourceOffset{{Split: "", Offset: []byte{0, 1, 2}}}, Watermarks: []Watermark{{Value: math.MinInt64}}},
		manifest(77, 50),
	} {
		k := manifestKey(m.Epoch)
		got, err := decodeManifest(k, encodeManifest(&m))
		require.NoError(t, err)
		require.Equal(t, m, got)
	}
}

func TestOpenErrors(t *testing.T) {
	t.Run("lock", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "meta")
		s1, err := Open(dir, Options{Logger: quietLogger()})
		require.NoError(t, err)
		_, err = Open(dir, Options{Logger: quietLogger()})
		requireCode(t, err, pgerror.ObjectInUse)
		require.ErrorIs(t, err, ErrLocked)
		require.Contains(t, err.Error(), dir)
		require.NoError(t, s1.Close())
		s2, err := Open(dir, Options{Logger: quietLogger()})
		require.NoError(t, err, "the lock is released by Close")
		require.NoError(t, s2.Close())
	})
	t.Run("format version mismatch", func(t *testing.T) {
		fs := vfs.NewMem()
		s := openFS(t, fs)
		require.NoError(t, s.db.Set(formatKey, seal(formatKey, encodeUvarint(FormatVersion+1)), pebble.Sync))
		require.NoError(t, s.Close())
		_, err := Open(testDir, Options{FS: fs, Logger: quietLogger()})
		requireCode(t, err, pgerror.ObjectNotInPrerequisiteState)
		require.ErrorIs(t, err, ErrFormatVersion)
		require.Contains(t, err.Error(), "version 2")
		// The failed open released the lock and Pebble.
		require.NoError(t, func() error {
			db, err := pebble.Open(testDir, &pebble.Options{FS: fs, Logger: &instanceLogger{log: quietLogger()}})
			if err != nil {
				return err
			}
			return db.Close()
		}())
	})
	t.Run("foreign pebble directory", func(t *testing.T) {
		fs := vfs.NewMem()
		db, err := pebble.Open(testDir, &pebble.Options{FS: fs, Logger: &instanceLogger{log: quietLogger()}})
		require.NoError(t, err)
		require.NoError(t, db.Set([]byte("someone else's"), []byte("data"), pebble.Sync))
		require.NoError(t, db.Close())
		_, err = Open(testDir, Options{FS: fs, Logger: quietLogger()})
		require.ErrorIs(t, err, ErrFormatVersion)
	})
	t.Run("closed", func(t *testing.T) {
		s := openFS(t, vfs.NewMem())
		require.NoError(t, s.Close())
		require.NoError(t, s.Close())
		_, err := s.NextID()
		require.ErrorIs(t, err, ErrClosed)
		_, _, err = s.LatestCheckpoint()
		require.ErrorIs(t, err, ErrClosed)
	})
}

func TestConcurrentUse(t *testing.T) {
	s := openFS(t, vfs.NewMem())
	defer s.Close()
	const workers, per = 4, 50
	ids := make(chan uint64, workers*per)
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		go func(w int) {
			for i := 0; i < per; i++ {
				id, err := s.NextID()
				if err == nil {
					err = s.PutObject(uint64(w), id, 1, nil)
				}
				if err == nil {
					_, _, err = s.LatestCheckpoint()
				}
				if err != nil {
					errs <- err
					return
				}
				ids <- id
			}
			errs <- nil
		}(w)
	}
	for w := 0; w < workers; w++ {
		require.NoError(t, <-errs)
	}
	close(ids)
	seen := map[uint64]bool{}
	for id := range ids {
		require.False(t, seen[id], "id %d allocated twice", id)
		seen[id] = true
	}
	require.Len(t, seen, workers*per)
	total := 0
	for w := 0; w < workers; w++ {
		total += len(collectObjects(t, s, uint64(w)))
	}
	require.Equal(t, workers*per, total)
}

func TestDeleteViewTimers(t *testing.T) {
	s := openFS(t, vfs.NewMem())
	defer s.Close()
	require.NoError(t, s.PutTimer(1, []byte("a"), 5))
	require.NoError(t, s.PutTimer(1, []byte("b"), -5))
	require.NoError(t, s.PutTimer(2, []byte("a"), 5))
	require.NoError(t, s.PutTimer(math.MaxUint64, []byte("z"), 1))
	n, err := s.DeleteViewTimers(1)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	n, err = s.DeleteViewTimers(math.MaxUint64)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	n, err = s.DeleteViewTimers(7)
	require.NoError(t, err)
	require.Zero(t, n)
	var left []Timer
	for tm, err := range s.DueTimers(math.MaxInt64) {
		require.NoError(t, err)
		left = append(left, tm)
	}
	require.Equal(t, []Timer{{ViewID: 2, Key: []byte("a"), FireAt: 5}}, left)
	// The owner index is gone too: re-adding works and is found once.
	require.NoError(t, s.PutTimer(1, []byte("a"), 9))
	require.NoError(t, s.DeleteTimer(1, []byte("a")))
}
