package stream

import (
	"context"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

// TestRandomized streams random inserts, deletes and updates in random
// batch sizes through aggregate and join pipelines and checks, after every
// barrier, that the view equals a naive recomputation from the net input.
// STREAM_SEED=n reruns one seed.
func TestRandomized(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("STREAM_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err)
		seed = v
	}
	t.Logf("seed %d (rerun with STREAM_SEED=%d)", seed, seed)
	for _, name := range []string{"agg", "agg_global", "join_inner", "join_left", "join_full", "join_agg", "union", "filter", "project", "distinct",
		"condjoin_inner", "condjoin_left", "condjoin_right", "condjoin_full"} {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, uint64(len(name))))
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			runRandom(t, rng, name, seed, mem)
			// Every batch the executors built was released (chunk ownership).
			mem.AssertSize(t, 0)
		})
	}
}

type model struct{ rows [][]*int64 }

func randVal(rng *rand.Rand, lo, hi int64, nullPct int) *int64 {
	if rng.IntN(100) < nullPct {
		return nil
	}
	v := lo + rng.Int64N(hi-lo+1)
	return &v
}

func runRandom(t *testing.T, rng *rand.Rand, name string, seed uint64, mem memory.Allocator) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := buildPipelineMem(t, name, mem)
	defer p.close()
	models := make([]model, len(p.logs))
	keys := int64(1 + rng.IntN(8))
	newRow := func() []*int64 { return []*int64{randVal(rng, 0, keys, 5), randVal(rng, -20, 20, 10)} }
	batchSizes := []int{1, 2, 3, 7, 64, 300}
	maxRows := 2000
	if strings.HasPrefix(name, "join") || strings.HasPrefix(name, "condjoin") {
		// Joins multiply: keep tables small enough for the naive check.
		batchSizes, maxRows = []int{1, 2, 3, 7, 16}, 60
	}
	for epoch := 0; epoch < 25; epoch++ {
		for c := rng.IntN(4); c >= 0; c-- {
			tbl := rng.IntN(len(p.logs))
			m := &models[tbl]
			n := batchSizes[rng.IntN(len(batchSizes))]
			var rows []row
			for len(rows) < n {
				switch r := rng.IntN(10); {
				case len(m.rows) == 0 || (r < 5 && len(m.rows) < maxRows):
					v := newRow()
					m.rows = append(m.rows, v)
					rows = append(rows, row{op: Insert, vals: v})
				case r < 8:
					i := rng.IntN(len(m.rows))
					rows = append(rows, row{op: Delete, vals: m.rows[i]})
					m.rows[i] = m.rows[len(m.rows)-1]
					m.rows = m.rows[:len(m.rows)-1]
				default:
					i := rng.IntN(len(m.rows))
					v := newRow()
					rows = append(rows, row{op: UpdateDelete, vals: m.rows[i]}, row{op: UpdateInsert, vals: v})
					m.rows[i] = v
				}
			}
			ch := makeChunkMem(t, mem, p.logs[tbl].Schema(), rows)
			require.NoError(t, p.logs[tbl].Append(ch))
			ch.Release()
		}
		e, err := p.coord.InjectBarrier(false)
		require.NoError(t, err)
		require.Equal(t, e, p.pullBarrier(t, ctx))
		got := sortedCopy(p.view(t, ctx, e))
		want := sortedCopy(naive(name, models))
		require.Equal(t, want, got, "seed %d epoch %d", seed, e)
	}
}

func fmtVal(v *int64) string {
	if v == nil {
		return "NULL"
	}
	return strconv.FormatInt(*v, 10)
}

func fmtRow(vs []*int64) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmtVal(v)
	}
	return strings.Join(parts, " ")
}

// naive evaluates the pipeline's query over the models' net rows.
func naive(name string, ms []model) []string {
	switch name {
	case "agg":
		return naiveAgg(ms[0].rows, 0, 1, true)
	case "agg_global":
		return naiveAgg(ms[0].rows, -1, 1, false)
	case "join_inner", "join_left", "join_full":
		return naiveJoin(ms[0].rows, ms[1].rows, name != "join_inner", name == "join_full")
	case "condjoin_inner", "condjoin_left", "condjoin_right", "condjoin_full":
		return naiveCondJoin(ms[0].rows, ms[1].rows, name == "condjoin_left" || name == "condjoin_full", name == "condjoin_right" || name == "condjoin_full")
	case "join_agg":
		var joined [][]*int64
		for _, l := range ms[0].rows {
			for _, r := range ms[1].rows {
				if l[0] != nil && r[0] != nil && *l[0] == *r[0] {
					joined = append(joined, []*int64{l[0], l[1], r[0], r[1]})
				}
			}
		}
		return naiveAgg(joined, 0, 3, true)
	case "distinct":
		seen := map[string]bool{}
		var out []string
		for _, r := range ms[0].rows {
			if s := fmtRow(r); !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
		return out
	case "filter":
		var out []string
		for _, r := range ms[0].rows {
			if r[1] != nil && *r[1] > 3 {
				out = append(out, fmtRow(r))
			}
		}
		return out
	case "project":
		var out []string
		for _, r := range ms[0].rows {
			var sum *int64
			if r[0] != nil && r[1] != nil {
				v := *r[0] + *r[1]
				sum = &v
			}
			out = append(out, fmtRow([]*int64{r[0], sum}))
		}
		return out
	case "union":
		var out []string
		for _, m := range ms {
			for _, r := range m.rows {
				out = append(out, fmtRow(r))
			}
		}
		return out
	}
	panic("unknown pipeline " + name)
}

// naiveAgg computes [k,] count(*), sum(v), min(v), max(v).
func naiveAgg(rows [][]*int64, k, v int, grouped bool) []string {
	type acc struct {
		key        *int64
		n, sum     int64
		nv         int
		minV, maxV int64
	}
	groups := map[string]*acc{}
	var order []string
	get := func(key *int64) *acc {
		s := fmtVal(key)
		a := groups[s]
		if a == nil {
			a = &acc{key: key}
			groups[s] = a
			order = append(order, s)
		}
		return a
	}
	if !grouped {
		get(nil)
	}
	for _, r := range rows {
		var key *int64
		if grouped {
			key = r[k]
		}
		a := get(key)
		a.n++
		if x := r[v]; x != nil {
			if a.nv == 0 || *x < a.minV {
				a.minV = *x
			}
			if a.nv == 0 || *x > a.maxV {
				a.maxV = *x
			}
			a.nv++
			a.sum += *x
		}
	}
	sort.Strings(order)
	var out []string
	for _, s := range order {
		a := groups[s]
		vals := []string{strconv.FormatInt(a.n, 10), "NULL", "NULL", "NULL"}
		if a.nv > 0 {
			vals[1], vals[2], vals[3] = strconv.FormatInt(a.sum, 10), strconv.FormatInt(a.minV, 10), strconv.FormatInt(a.maxV, 10)
		}
		if grouped {
			vals = append([]string{fmtVal(a.key)}, vals...)
		}
		out = append(out, strings.Join(vals, " "))
	}
	return out
}

func naiveJoin(left, right [][]*int64, leftOuter, rightOuter bool) []string {
	var out []string
	matchedR := make([]bool, len(right))
	for _, l := range left {
		matched := false
		for j, r := range right {
			if l[0] != nil && r[0] != nil && *l[0] == *r[0] {
				out = append(out, fmtRow(l)+" "+fmtRow(r))
				matched, matchedR[j] = true, true
			}
		}
		if !matched && leftOuter {
			out = append(out, fmtRow(l)+" NULL NULL")
		}
	}
	if rightOuter {
		for j, r := range right {
			if !matchedR[j] {
				out = append(out, "NULL NULL "+fmtRow(r))
			}
		}
	}
	return out
}

// naiveCondJoin joins on a = c AND b > d.
func naiveCondJoin(left, right [][]*int64, leftOuter, rightOuter bool) []string {
	var out []string
	matchedR := make([]bool, len(right))
	for _, l := range left {
		matched := false
		for j, r := range right {
			if l[0] != nil && r[0] != nil && *l[0] == *r[0] && l[1] != nil && r[1] != nil && *l[1] > *r[1] {
				out = append(out, fmtRow(l)+" "+fmtRow(r))
				matched, matchedR[j] = true, true
			}
		}
		if !matched && leftOuter {
			out = append(out, fmtRow(l)+" NULL NULL")
		}
	}
	if rightOuter {
		for j, r := range right {
			if !matchedR[j] {
				out = append(out, "NULL NULL "+fmtRow(r))
			}
		}
	}
	return out
}
