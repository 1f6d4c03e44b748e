package agg

import (
	"encoding/binary"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/exec/kernels/vec"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// NewDistinct returns a retractable DISTINCT wrapper around inner (the
// aggregate of count(DISTINCT x), sum(DISTINCT x), string_agg(DISTINCT …)
// in a streaming view). Per group it counts the rows of every distinct
// argument tuple (SQL equality, as GROUP BY: 1.0 = 1.00, NULL = NULL) and
// passes inner a tuple's first row when its count goes 0→1 (Update) and
// that same row again when the count returns to 0 (Retract), so inner sees
// each distinct tuple once, spelled as it first arrived. Rows whose first
// argument is NULL are skipped, as PostgreSQL's strict aggregates skip them
// (count(DISTINCT x) does not count NULL), except when inner is array_agg
// (or NewOrdered around it), whose DISTINCT keeps one NULL element. With
// ORDER BY, wrap NewOrdered: the keys PostgreSQL allows there are argument
// expressions, so distinct rows are distinct argument tuples.
//
// The result implements kernels.Retractor and kernels.GroupResulter;
// Retract fails when inner cannot retract, AppendResult when inner cannot
// report one group. Memory: one map entry (group, key) per distinct tuple
// per group, plus a copy of the tuple's first row as Datums when a
// SQL-equal row could be spelled differently (numeric, float, interval,
// bpchar, arrays) and inner is not count.
func NewDistinct(argTypes []types.T, inner kernels.GroupedAcc) kernels.GroupedAcc {
	kn, ok := inner.(nullKeeper)
	keep := ok && kn.keepsNulls()
	_, isCount := inner.(*countAcc)
	needReps := !isCount && !exactEquality(argTypes)
	a := &distinctAcc{
		types:     append([]types.T(nil), argTypes...),
		inner:     inner,
		keepNulls: keep,
		needReps:  needReps,
		seen:      map[string]distinctEntry{},
	}
	if _, ok := inner.(kernels.GroupStater); ok {
		return &distinctStater{a}
	}
	return a
}

// exactEquality reports whether SQL-equal values of every type in ts are
// stored identically, so that any row of a distinct tuple can stand for
// the one inner was given.
func exactEquality(ts []types.T) bool {
	for _, t := range ts {
		switch t.Family {
		case types.FamBool, types.FamInt2, types.FamInt4, types.FamInt8, types.FamOid, types.FamText,
			types.FamVarchar, types.FamName, types.FamBytea, types.FamDate, types.FamTime,
			types.FamTimestamp, types.FamTimestampTZ:
		default:
			return false
		}
	}
	return true
}

// nullKeeper is implemented by accumulators for which a NULL argument is an
// input rather than a row to skip (array_agg, and NewOrdered around it).
type nullKeeper interface{ keepsNulls() bool }

type distinctAcc struct {
	types     []types.T
	inner     kernels.GroupedAcc
	keepNulls bool
	// needReps: inner must retract the very row it was given (a SQL-equal
	// row may be spelled differently); otherwise the retracted row itself
	// is passed on and no copy is kept.
	needReps bool
	seen     map[string]distinctEntry // group id (4 bytes) + row key → entry
	keyBytes int64
	// byGroup lists each group's entry keys once a group state has been
	// saved or loaded (indexed); entries record their position in it.
	byGroup [][]string
	indexed bool
	ngroups int
	buf     []byte
	mask    []uint32
}

type distinctEntry struct {
	n   int64
	rep []types.Datum // the row inner was given (needReps only)
	pos int32         // index in byGroup[group] (indexed only)
}

func (a *distinctAcc) Grow(n int) {
	a.inner.Grow(n)
	a.ngroups = max(a.ngroups, n)
	if a.indexed {
		a.byGroup = growTo(a.byGroup, n)
	}
}

func (a *distinctAcc) MemoryBytes() int64 {
	m := a.inner.MemoryBytes() + a.keyBytes + int64(len(a.seen))*(64+24*int64(len(a.types)))
	if a.indexed {
		m += int64(cap(a.byGroup))*24 + int64(len(a.seen))*16
	}
	return m
}

// addEntry adds a new entry for key (group-prefixed) of group g.
func (a *distinctAcc) addEntry(g uint32, key string, e distinctEntry) {
	if a.indexed {
		e.pos = int32(len(a.byGroup[g]))
		a.byGroup[g] = append(a.byGroup[g], key)
	}
	a.seen[key] = e
	a.keyBytes += int64(len(key))
}

// removeEntry deletes entry e (at key) of group g.
func (a *distinctAcc) removeEntry(g uint32, key string, e distinctEntry) {
	delete(a.seen, key)
	a.keyBytes -= int64(len(key))
	if !a.indexed {
		return
	}
	list := a.byGroup[g]
	last := len(list) - 1
	if int(e.pos) != last {
		moved := list[last]
		list[e.pos] = moved
		m := a.seen[moved]
		m.pos = e.pos
		a.seen[moved] = m
	}
	list[last] = ""
	a.byGroup[g] = list[:last]
}

// index builds byGroup from seen; from then on entries keep it current.
func (a *distinctAcc) index() {
	if a.indexed {
		return
	}
	a.byGroup = make([][]string, a.ngroups)
	for k, e := range a.seen {
		g := uint32(k[0]) | uint32(k[1])<<8 | uint32(k[2])<<16 | uint32(k[3])<<24
		e.pos = int32(len(a.byGroup[g]))
		a.byGroup[g] = append(a.byGroup[g], k)
		a.seen[k] = e
	}
	a.indexed = true
}

// key builds the entry key of row i of group g in a.buf; ok is false for a
// skipped row.
func (a *distinctAcc) key(g uint32, args []arrow.Array, i int) bool {
	if len(args) > 0 && !a.keepNulls && args[0].IsNull(i) {
		return false
	}
	a.buf = binary.LittleEndian.AppendUint32(a.buf[:0], g)
	a.buf = vec.AppendRowKey(a.buf, args, a.types, i)
	return true
}

func (a *distinctAcc) Update(ctx *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	if len(args) != len(a.types) {
		return pgerror.Internal("distinct aggregate expects %d arguments, got %d", len(a.types), len(args))
	}
	a.mask = growTo(a.mask[:0], len(groups))
	fresh := false
	for i, g := range groups {
		a.mask[i] = NoGroup
		if g == NoGroup || !a.key(g, args, i) {
			continue
		}
		if e, ok := a.seen[string(a.buf)]; ok {
			e.n++
			a.seen[string(a.buf)] = e
			continue
		}
		var rep []types.Datum
		if a.needReps {
			rep = make([]types.Datum, len(args))
			for k, col := range args {
				rep[k] = types.GetDatum(col, i, a.types[k])
			}
		}
		a.addEntry(g, string(a.buf), distinctEntry{n: 1, rep: rep})
		a.mask[i] = g
		fresh = true
	}
	if !fresh {
		return nil
	}
	return a.inner.Update(ctx, a.mask, args)
}

func (a *distinctAcc) Retract(ctx *kernels.EvalContext, groups []uint32, args []arrow.Array) error {
	if len(args) != len(a.types) {
		return pgerror.Internal("distinct aggregate expects %d arguments, got %d", len(a.types), len(args))
	}
	var gone []uint32
	var reps [][]types.Datum
	if !a.needReps {
		a.mask = growTo(a.mask[:0], len(groups))
	}
	for i, g := range groups {
		if !a.needReps {
			a.mask[i] = NoGroup
		}
		if g == NoGroup || !a.key(g, args, i) {
			continue
		}
		e, ok := a.seen[string(a.buf)]
		if !ok {
			continue // a row never added: nothing to undo
		}
		if e.n > 1 {
			e.n--
			a.seen[string(a.buf)] = e
			continue
		}
		a.removeEntry(g, string(a.buf), e)
		gone = append(gone, g)
		if a.needReps {
			reps = append(reps, e.rep)
		} else {
			a.mask[i] = g
		}
	}
	if len(gone) == 0 {
		return nil
	}
	r, ok := a.inner.(kernels.Retractor)
	if !ok {
		return pgerror.Internal("distinct aggregate over %T cannot retract", a.inner)
	}
	if !a.needReps {
		return r.Retract(ctx, a.mask, args)
	}
	cols := make([]arrow.Array, len(a.types))
	for k, t := range a.types {
		b := array.NewBuilder(memOf(ctx), types.ArrowType(t))
		for _, rep := range reps {
			types.AppendDatum(b, rep[k], t)
		}
		cols[k] = b.NewArray()
		b.Release()
	}
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	return r.Retract(ctx, gone, cols)
}

func (a *distinctAcc) AppendResult(ctx *kernels.EvalContext, g uint32, b array.Builder) error {
	r, ok := a.inner.(kernels.GroupResulter)
	if !ok {
		return pgerror.Internal("distinct aggregate over %T cannot report one group", a.inner)
	}
	return r.AppendResult(ctx, g, b)
}

func (a *distinctAcc) Finish(ctx *kernels.EvalContext, b array.Builder) error {
	return a.inner.Finish(ctx, b)
}
