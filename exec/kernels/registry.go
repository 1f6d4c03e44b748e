package kernels

import (
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/sql/types"
)

// EvalContext is the per-statement state functions may read. It is shared
// read-only by all operators of one statement.
type EvalContext struct {
	types.Ctx
	// StmtTime is the statement's start time (now(), current_timestamp).
	StmtTime types.TimestampTZ
	// TxnTime is the transaction start time (now() in PostgreSQL is the
	// transaction start; equal to StmtTime outside explicit transactions).
	TxnTime types.TimestampTZ
	// Mem allocates Arrow buffers for results.
	Mem memory.Allocator
	// Session exposes session information to catalog functions
	// (current_user, current_database, version(), current_setting, …).
	Session SessionInfo
}

// SessionInfo answers the session-scoped questions some built-in functions ask.
type SessionInfo interface {
	CurrentUser() string
	CurrentDatabase() string
	Setting(name string) (string, bool)
}

// Volatility follows PostgreSQL's provolatile.
type Volatility uint8

// Volatility classes.
const (
	Immutable Volatility = iota // same result for same arguments forever
	Stable                      // same result within one statement (now())
	Volatile                    // may change every call (random())
)

// ScalarFunc is one overload of a scalar function or operator.
//
// Operators are registered under their symbol ("+", "=", "||", "~~" for
// LIKE, "~~*" for ILIKE, "!~~", "~" for regex match, unary minus as "u-").
type ScalarFunc struct {
	Name string
	// Args are the declared parameter types. Family matters; Mod is ignored.
	// types.FamAny matches any type (all FamAny args must resolve to one
	// common type); types.FamAnyArray matches any array.
	Args []types.T
	// Variadic means the last entry of Args may repeat zero or more times.
	Variadic bool
	// AnyIndependent makes each FamAny argument resolve to its own type
	// (PostgreSQL's "any" pseudo-type, as in concat and format) instead of
	// one common type (anyelement).
	AnyIndependent bool
	// Ret is the result type, or computed by RetFn from the resolved
	// argument types when RetFn is set.
	Ret   types.T
	RetFn func(args []types.T) types.T
	// Strict functions return NULL when any argument is NULL without being called.
	Strict     bool
	Volatility Volatility
	// Eval computes one row. args[i] is a Datum of the resolved type of
	// argument i (nil only when !Strict).
	Eval func(ctx *EvalContext, args []types.Datum) (types.Datum, error)
	// Vec, when set, computes n rows at once. args are Arrow arrays of the
	// resolved argument types, each of length n; the result has length n
	// and is owned by the caller. Vec must honour Strict itself (NULL in → NULL out).
	Vec func(ctx *EvalContext, args []arrow.Array, n int) (arrow.Array, error)
}

// ResultType returns the result type for the resolved argument types.
func (f *ScalarFunc) ResultType(args []types.T) types.T {
	if f.RetFn != nil {
		return f.RetFn(args)
	}
	return f.Ret
}

// GroupedAcc accumulates one aggregate for many groups at once. Groups are
// dense ids 0..n-1 assigned by the caller's hash table.
//
// An accumulator is used by one goroutine. Update's args are borrowed for the
// call only.
type GroupedAcc interface {
	// Grow makes room for groups up to n-1 (n only increases).
	Grow(n int)
	// Update adds row i of the batch to group groups[i] for every i in
	// [0, len(groups)). args are the aggregate's argument arrays (empty for
	// count(*)). Rows whose group is NoGroup are skipped.
	Update(ctx *EvalContext, groups []uint32, args []arrow.Array) error
	// Finish appends the result of every group 0..n-1, in order, to b
	// (a builder of types.ArrowType(ret)).
	Finish(ctx *EvalContext, b array.Builder) error
	// MemoryBytes estimates the heap the accumulator holds, for memory accounting.
	MemoryBytes() int64
}

// GroupResulter is implemented by accumulators that can report one group's
// current result without finishing (running aggregates in window frames,
// streaming views that emit after every epoch).
type GroupResulter interface {
	// AppendResult appends group g's current result to b.
	AppendResult(ctx *EvalContext, g uint32, b array.Builder) error
}

// Retractor is implemented by accumulators that can remove rows they were
// given (sum, count, avg, variance: sliding window frames and streaming
// deletes). Retract is Update's inverse for the same rows.
type Retractor interface {
	Retract(ctx *EvalContext, groups []uint32, args []arrow.Array) error
}

// GroupStater is implemented by accumulators whose per-group state can be
// saved and restored: a streaming aggregate with more groups than its memory
// share writes cold groups to a state table and loads them back when rows
// for them arrive.
type GroupStater interface {
	// AppendGroupState appends an encoding of group g's state to dst and
	// returns the extended slice. The encoding is private to the aggregate
	// and its argument types, and must round-trip exactly (results after
	// LoadGroupState and any later Update/Retract equal those of the
	// original group).
	AppendGroupState(dst []byte, g uint32) []byte
	// LoadGroupState replaces the state of group g (already grown, fresh or
	// not) with one decoded from src, produced by AppendGroupState of an
	// accumulator of the same aggregate and argument types. Malformed input
	// is an error (SQLSTATE XX001), never a panic.
	LoadGroupState(g uint32, src []byte) error
}

// NoGroup marks a row that an accumulator must skip (filtered by FILTER
// (WHERE …) or a DISTINCT duplicate).
const NoGroup = ^uint32(0)

// AggFunc is one overload of an aggregate function.
type AggFunc struct {
	Name  string
	Args  []types.T // as ScalarFunc.Args; count(*) has none
	Ret   types.T
	RetFn func(args []types.T) types.T
	// New returns an empty accumulator for the resolved argument types.
	// extra holds constant extra arguments (string_agg's delimiter is an
	// ordinary argument and is not here); may be nil.
	New func(args []types.T, ret types.T) GroupedAcc
	// OrderSensitive aggregates (string_agg, array_agg) honour an ORDER BY
	// inside the call: the executor feeds them rows in that order.
	OrderSensitive bool
}

// ResultType returns the result type for the resolved argument types.
func (f *AggFunc) ResultType(args []types.T) types.T {
	if f.RetFn != nil {
		return f.RetFn(args)
	}
	return f.Ret
}

// Registry maps lower-case names to overloads. It is built once at start-up
// and read-only afterwards (safe for concurrent readers).
type Registry struct {
	scalars map[string][]*ScalarFunc
	aggs    map[string][]*AggFunc
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{scalars: map[string][]*ScalarFunc{}, aggs: map[string][]*AggFunc{}}
}

// AddScalar registers an overload.
func (r *Registry) AddScalar(f *ScalarFunc) {
	n := strings.ToLower(f.Name)
	r.scalars[n] = append(r.scalars[n], f)
}

// AddAgg registers an aggregate overload.
func (r *Registry) AddAgg(f *AggFunc) {
	n := strings.ToLower(f.Name)
	r.aggs[n] = append(r.aggs[n], f)
}

// Scalars returns the overloads of a scalar function or operator.
func (r *Registry) Scalars(name string) []*ScalarFunc { return r.scalars[strings.ToLower(name)] }

// Aggs returns the overloads of an aggregate.
func (r *Registry) Aggs(name string) []*AggFunc { return r.aggs[strings.ToLower(name)] }

// ScalarNames lists the registered scalar names, sorted (for pg_proc).
func (r *Registry) ScalarNames() []string {
	out := make([]string, 0, len(r.scalars))
	for n := range r.scalars {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// AggNames lists the registered aggregate names, sorted.
func (r *Registry) AggNames() []string {
	out := make([]string, 0, len(r.aggs))
	for n := range r.aggs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
