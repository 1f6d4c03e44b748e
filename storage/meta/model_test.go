package meta

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/stretchr/testify/require"
)

// model is the plain-map reference the randomized test checks the store
// against.
type model struct {
	objects  map[[2]uint64]Object
	settings map[string][]byte
	timers   map[string]Timer // viewID/key → timer
	ckpts    []Manifest
	lastID   uint64
}

func timerName(view uint64, key []byte) string { return fmt.Sprintf("%d/%s", view, key) }

func (m *model) check(t *testing.T, s *Store, trace []string) {
	t.Helper()
	fail := func(err error, msg string) {
		t.Helper()
		require.NoError(t, err, "%s\ntrace:\n%s", msg, strings.Join(trace, "\n"))
	}
	for kind := uint64(1); kind <= 3; kind++ {
		var want []Object
		for _, o := range m.objects {
			if o.Kind == kind {
				want = append(want, o)
			}
		}
		slices.SortFunc(want, func(a, b Object) int { return int(a.ID) - int(b.ID) })
		var got []Object
		for o, err := range s.Objects(kind) {
			fail(err, "objects")
			got = append(got, o)
		}
		require.Equal(t, want, got, "objects of kind %d\ntrace:\n%s", kind, strings.Join(trace, "\n"))
	}
	settings, err := s.Settings()
	fail(err, "settings")
	want := m.settings
	if len(want) == 0 {
		want = map[string][]byte{}
	}
	require.Equal(t, want, settings, "settings\ntrace:\n%s", strings.Join(trace, "\n"))
	var wantTimers []Timer
	for _, tm := range m.timers {
		wantTimers = append(wantTimers, tm)
	}
	slices.SortFunc(wantTimers, func(a, b Timer) int {
		if a.FireAt != b.FireAt {
			if a.FireAt < b.FireAt {
				return -1
			}
			return 1
		}
		if a.ViewID != b.ViewID {
			return int(a.ViewID) - int(b.ViewID)
		}
		return strings.Compare(string(a.Key), string(b.Key))
	})
	var gotTimers []Timer
	for tm, err := range s.DueTimers(math.MaxInt64) {
		fail(err, "timers")
		gotTimers = append(gotTimers, tm)
	}
	require.Equal(t, wantTimers, gotTimers, "timers\ntrace:\n%s", strings.Join(trace, "\n"))
	ms, err := s.Checkpoints()
	fail(err, "checkpoints")
	require.Equal(t, m.ckpts, ms, "checkpoints\ntrace:\n%s", strings.Join(trace, "\n"))
}

// TestRandomOperationsAgainstModel runs random operation sequences, with
// clean reopens, crashes (a clone keeping only synced data) and injected
// faults, against the model. A faulted write may or may not have happened;
// the test reads back which and follows the store, checking it is one of the
// two.
func TestRandomOperationsAgainstModel(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			mem := vfs.NewCrashableMem()
			inj := &faults{}
			wrap := func(fs vfs.FS) vfs.FS { return errorfs.Wrap(fs, inj) }
			s, err := Open(testDir, Options{FS: wrap(mem), Logger: quietLogger(), RetainCheckpoints: 3})
			require.NoError(t, err)
			m := &model{objects: map[[2]uint64]Object{}, settings: map[string][]byte{}, timers: map[string]Timer{}}
			var trace []string
			log := func(format string, args ...any) { trace = append(trace, fmt.Sprintf(format, args...)) }
			epoch := uint64(0)
			for step := 0; step < 300; step++ {
				switch op := rng.IntN(20); {
				case op < 5:
					o := Object{Kind: 1 + rng.Uint64N(3), ID: rng.Uint64N(8), Version: rng.Uint64N(4), Payload: []byte(fmt.Sprint(rng.IntN(100)))}
					log("put object %+v", o)
					require.NoError(t, s.PutObject(o.Kind, o.ID, o.Version, o.Payload))
					m.objects[[2]uint64{o.Kind, o.ID}] = o
				case op < 7:
					k, id := 1+rng.Uint64N(3), rng.Uint64N(8)
					log("delete object %d/%d", k, id)
					require.NoError(t, s.DeleteObject(k, id))
					delete(m.objects, [2]uint64{k, id})
				case op < 9:
					name, v := fmt.Sprint("s", rng.IntN(4)), []byte(fmt.Sprint(rng.IntN(10)))
					if rng.IntN(3) == 0 {
						log("delete setting %s", name)
						require.NoError(t, s.DeleteSetting(name))
						delete(m.settings, name)
					} else {
						log("put setting %s=%s", name, v)
						require.NoError(t, s.PutSetting(name, v))
						m.settings[name] = v
					}
				case op < 12:
					tm := Timer{ViewID: rng.Uint64N(3), Key: []byte(fmt.Sprint("k", rng.IntN(4))), FireAt: rng.Int64N(20) - 10}
					if rng.IntN(3) == 0 {
						log("delete timer %d/%s", tm.ViewID, tm.Key)
						require.NoError(t, s.DeleteTimer(tm.ViewID, tm.Key))
						delete(m.timers, timerName(tm.ViewID, tm.Key))
					} else {
						log("put timer %+v", tm)
						require.NoError(t, s.PutTimer(tm.ViewID, tm.Key, tm.FireAt))
						m.timers[timerName(tm.ViewID, tm.Key)] = tm
					}
				case op < 14:
					epoch += 1 + rng.Uint64N(3)
					mf := manifest(epoch, rng.IntN(5))
					log("checkpoint %d", epoch)
					require.NoError(t, s.CommitCheckpoint(mf))
					m.ckpts = append(m.ckpts, mf)
					if len(m.ckpts) > 3 {
						m.ckpts = m.ckpts[len(m.ckpts)-3:]
					}
				case op < 15:
					id, err := s.NextID()
					require.NoError(t, err)
					log("next id %d", id)
					require.Greater(t, id, m.lastID)
					m.lastID = id
				case op < 16:
					log("reopen")
					require.NoError(t, s.Close())
					s, err = Open(testDir, Options{FS: wrap(mem), Logger: quietLogger(), RetainCheckpoints: 3})
					require.NoError(t, err)
				case op < 17:
					log("crash")
					crashed := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})
					_ = s.Close()
					mem = crashed
					s, err = Open(testDir, Options{FS: wrap(mem), Logger: quietLogger(), RetainCheckpoints: 3})
					require.NoError(t, err)
				default:
					// A faulted object write or checkpoint.
					match := isWrite
					if rng.IntN(2) == 0 {
						match = isSync
					}
					inj.arm(errEIO, match)
					if rng.IntN(2) == 0 {
						o := Object{Kind: 1, ID: 100 + rng.Uint64N(3), Version: 1, Payload: []byte("faulted")}
						log("faulted put object %+v", o)
						require.Error(t, s.PutObject(o.Kind, o.ID, o.Version, o.Payload))
						inj.disarm()
						got, ok, err := s.GetObject(o.Kind, o.ID)
						require.NoError(t, err)
						old, had := m.objects[[2]uint64{o.Kind, o.ID}]
						if ok && (!had || !slices.Equal(old.Payload, got.Payload)) {
							require.Equal(t, o, got)
						}
						if ok {
							m.objects[[2]uint64{o.Kind, o.ID}] = got
						} else {
							require.False(t, had, "a failed write deleted an object")
						}
					} else {
						epoch++
						mf := manifest(epoch, 3)
						log("faulted checkpoint %d", epoch)
						require.Error(t, s.CommitCheckpoint(mf))
						inj.disarm()
						got, _, err := s.LatestCheckpoint()
						require.NoError(t, err)
						if got.Epoch == epoch {
							require.Equal(t, mf, got)
							m.ckpts = append(m.ckpts, mf)
							if len(m.ckpts) > 3 {
								m.ckpts = m.ckpts[len(m.ckpts)-3:]
							}
						}
					}
				}
				if step%10 == 0 {
					m.check(t, s, trace)
				}
			}
			m.check(t, s, trace)
			require.NoError(t, s.Close())
		})
	}
}
