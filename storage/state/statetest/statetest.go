package statetest

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/sabotsql/sabotsql/storage/state/keys"
)

// Schema is the value schema the harness uses: (v int64, s utf8 NULL).
var Schema = arrow.NewSchema([]arrow.Field{
	{Name: "v", Type: arrow.PrimitiveTypes.Int64},
	{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// Backend adapts a table implementation to the harness.
type Backend struct {
	// Open opens the table (empty on first call).
	Open func(t testing.TB) state.Table
	// Checkpoint makes every committed epoch durable and returns the durable
	// epoch. Nil for volatile backends.
	Checkpoint func(t testing.TB, tbl state.Table) state.Epoch
	// Reopen closes tbl without a checkpoint and opens it again, as after a
	// crash; the result holds exactly the last checkpoint. Nil disables
	// restarts.
	Reopen func(t testing.TB, tbl state.Table) state.Table
	// Maintain runs backend housekeeping (flush, compaction) at random
	// points; it must not change what reads return. Nil disables it.
	Maintain func(t testing.TB, tbl state.Table, rng *rand.Rand) string
}

// Config shapes the random operations.
type Config struct {
	Seed     uint64
	Ops      int
	KeySpace int // distinct keys
	MaxBatch int
}

type val struct {
	v     int64
	s     string
	sNull bool
}

type model struct {
	states    map[state.Epoch]map[string]val // committed state after each epoch
	committed state.Epoch
	durable   state.Epoch
	pending   map[string]*val
	clean     string
	hasClean  bool
}

func (m *model) latest() map[string]val { return m.states[m.committed] }

// writerView is committed state plus pending writes.
func (m *model) writerView() map[string]val {
	w := maps.Clone(m.latest())
	if m.hasClean {
		for k := range w {
			if k < m.clean {
				delete(w, k)
			}
		}
	}
	for k, p := range m.pending {
		if p == nil {
			delete(w, k)
		} else {
			w[k] = *p
		}
	}
	return w
}

type snap struct {
	s state.Snapshot
	e state.Epoch
}

// Run executes one random sequence; it fails t with the seed and trace on
// the first disagreement.
func Run(t *testing.T, b Backend, cfg Config) {
	t.Helper()
	if cfg.KeySpace == 0 {
		cfg.KeySpace = 300
	}
	if cfg.MaxBatch == 0 {
		cfg.MaxBatch = 64
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5eed))
	ctx := context.Background()
	var trace []string
	fail := func(format string, args ...any) {
		t.Helper()
		tail := trace
		if len(tail) > 200 {
			tail = tail[len(tail)-200:]
		}
		t.Fatalf("seed=%d: %s\ntrace (last %d of %d ops):\n%s", cfg.Seed, fmt.Sprintf(format, args...),
			len(tail), len(trace), strings.Join(tail, "\n"))
	}
	mem := memory.NewGoAllocator()
	tbl := b.Open(t)
	defer func() { tbl.Close() }()
	m := &model{states: map[state.Epoch]map[string]val{0: {}}, pending: map[string]*val{}}
	var snaps []snap
	key := func(i int) []byte { return keys.Int64Key(int64(i)) }
	randKey := func() int { return rng.IntN(cfg.KeySpace) - cfg.KeySpace/10 }

	check := func(what string, r state.Reader, want map[string]val) {
		t.Helper()
		// Point lookups, with repeats and absent keys.
		n := 1 + rng.IntN(cfg.MaxBatch)
		ks := make([][]byte, n)
		for i := range ks {
			ks[i] = key(randKey())
		}
		lk, err := r.Get(ctx, ks)
		if err != nil {
			fail("%s get: %v", what, err)
		}
		got := decode(lk.Values)
		lk.Values.Release()
		for i, k := range ks {
			w, ok := want[string(k)]
			if lk.Found[i] != ok {
				fail("%s get %x: found=%v, model found=%v", what, k, lk.Found[i], ok)
			}
			if ok && got[i] != w {
				fail("%s get %x: got %+v, model %+v", what, k, got[i], w)
			}
		}
		// A range scan.
		var kr state.KeyRange
		if rng.IntN(3) > 0 {
			kr.Start = key(randKey())
		}
		if rng.IntN(3) > 0 {
			kr.End = key(randKey())
		}
		var wantKeys []string
		for k := range want {
			if kr.Contains([]byte(k)) {
				wantKeys = append(wantKeys, k)
			}
		}
		slices.Sort(wantKeys)
		var gotKeys []string
		err = r.Scan(ctx, kr, func(sk [][]byte, vals arrow.RecordBatch) error {
			rows := decode(vals)
			for i, k := range sk {
				gotKeys = append(gotKeys, string(k))
				if w, ok := want[string(k)]; ok && rows[i] != w {
					fail("%s scan %x: got %+v, model %+v", what, k, rows[i], w)
				}
			}
			return nil
		})
		if err != nil {
			fail("%s scan: %v", what, err)
		}
		if !slices.Equal(gotKeys, wantKeys) {
			fail("%s scan [%x,%x): got %d keys, model %d\n got %x\nwant %x", what, kr.Start, kr.End, len(gotKeys), len(wantKeys), gotKeys, wantKeys)
		}
	}

	for op := 0; op < cfg.Ops; op++ {
		switch p := rng.IntN(100); {
		case p < 40: // write a batch
			n := 1 + rng.IntN(cfg.MaxBatch)
			bld := array.NewRecordBuilder(mem, Schema)
			ks := make([][]byte, n)
			ops := make([]state.Op, n)
			nputs := 0
			for i := range ks {
				k := randKey()
				ks[i] = key(k)
				var v val
				if rng.IntN(5) == 0 {
					ops[i] = state.OpDelete
				} else {
					nputs++
					v = val{v: rng.Int64N(1000), s: fmt.Sprint("s", rng.IntN(50)), sNull: rng.IntN(6) == 0}
					if v.sNull {
						v.s = ""
					}
				}
				bld.Field(0).(*array.Int64Builder).Append(v.v)
				if v.sNull || ops[i] == state.OpDelete {
					bld.Field(1).AppendNull()
				} else {
					bld.Field(1).(*array.StringBuilder).Append(v.s)
				}
				if ops[i] == state.OpDelete {
					m.pending[string(ks[i])] = nil
				} else {
					vv := v
					m.pending[string(ks[i])] = &vv
				}
			}
			rec := bld.NewRecordBatch()
			bld.Release()
			trace = append(trace, fmt.Sprintf("write n=%d puts=%d", n, nputs))
			if err := tbl.Write(ctx, ks, ops, rec); err != nil {
				fail("write: %v", err)
			}
			rec.Release()
		case p < 45: // range delete below a watermark
			w := randKey()
			trace = append(trace, fmt.Sprintf("cleanBelow %d", w))
			wk := string(key(w))
			for k := range m.pending {
				if k < wk {
					delete(m.pending, k)
				}
			}
			if !m.hasClean || wk > m.clean {
				m.clean, m.hasClean = wk, true
			}
			if err := tbl.CleanBelow(ctx, []byte(wk)); err != nil {
				fail("cleanBelow: %v", err)
			}
		case p < 60: // commit
			e := m.committed + 1 + state.Epoch(rng.IntN(3))
			trace = append(trace, fmt.Sprintf("commit %d", e))
			m.states[e] = m.writerView()
			m.committed = e
			clear(m.pending)
			m.hasClean = false
			if err := tbl.Commit(ctx, e); err != nil {
				fail("commit %d: %v", e, err)
			}
			if got := tbl.CommittedEpoch(); got != e {
				fail("committed epoch %d, want %d", got, e)
			}
		case p < 75: // writer-view reads
			trace = append(trace, "read writer view")
			check("writer", tbl, m.writerView())
		case p < 80: // take a snapshot
			trace = append(trace, fmt.Sprintf("snapshot %d", m.committed))
			s, err := tbl.Snapshot(m.committed)
			if err != nil {
				fail("snapshot: %v", err)
			}
			snaps = append(snaps, snap{s: s, e: m.committed})
		case p < 90: // read a snapshot
			if len(snaps) == 0 {
				continue
			}
			s := snaps[rng.IntN(len(snaps))]
			trace = append(trace, fmt.Sprintf("read snapshot %d", s.e))
			check(fmt.Sprintf("snapshot@%d", s.e), s.s, m.states[s.e])
		case p < 94: // release a snapshot
			if len(snaps) == 0 {
				continue
			}
			i := rng.IntN(len(snaps))
			trace = append(trace, fmt.Sprintf("release snapshot %d", snaps[i].e))
			snaps[i].s.Release()
			snaps = slices.Delete(snaps, i, i+1)
		case p < 95: // housekeeping
			if b.Maintain == nil {
				continue
			}
			trace = append(trace, "maintain: "+b.Maintain(t, tbl, rng))
		case p < 97: // checkpoint
			if b.Checkpoint == nil {
				continue
			}
			trace = append(trace, "checkpoint")
			if d := b.Checkpoint(t, tbl); d != m.committed {
				fail("checkpoint durable epoch %d, want %d", d, m.committed)
			}
			m.durable = m.committed
		default: // crash and restart
			if b.Reopen == nil {
				continue
			}
			trace = append(trace, fmt.Sprintf("restart (durable %d)", m.durable))
			for _, s := range snaps {
				s.s.Release()
			}
			snaps = nil
			tbl = b.Reopen(t, tbl)
			m.committed = m.durable
			for e := range m.states {
				if e > m.durable {
					delete(m.states, e)
				}
			}
			clear(m.pending)
			m.hasClean = false
			if got := tbl.CommittedEpoch(); got != m.durable {
				fail("after restart committed epoch %d, want %d", got, m.durable)
			}
			check("after restart", tbl, m.writerView())
		}
	}
	for _, s := range snaps {
		s.s.Release()
	}
	check("final", tbl, m.writerView())
	t.Logf("seed=%d: %d ops, final epoch %d, %d keys", cfg.Seed, len(trace), m.committed, len(m.writerView()))
}

func decode(b arrow.RecordBatch) []val {
	out := make([]val, b.NumRows())
	vs := b.Column(0).(*array.Int64)
	ss := b.Column(1).(*array.String)
	for i := range out {
		out[i].v = vs.Value(i)
		if ss.IsNull(i) {
			out[i].sNull = true
		} else {
			out[i].s = ss.Value(i)
		}
	}
	return out
}

// Seeds is the seed list of a metamorphic test: only one when one != 0
// (replaying a failure), else the fixed CI set followed by extra seeds
// drawn at random (a -seeds flag asks for more; failures print the seed,
// which one replays).
func Seeds(fixed []uint64, one uint64, extra int) []uint64 {
	if one != 0 {
		return []uint64{one}
	}
	out := slices.Clone(fixed)
	for range extra {
		out = append(out, rand.Uint64()|1)
	}
	return out
}
