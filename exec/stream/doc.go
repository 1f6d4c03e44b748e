// Package stream is SabotSQL's streaming executor: the incremental dataflow
// behind CREATE MATERIALIZED VIEW. Base tables publish their changes into a
// Changelog; a view's dataflow is a tree of pull-based Executors (Source,
// Project, Filter, HashAggregate, HashJoin, Union) that turn input changes
// into output changes, ending in a Materialize that applies them to the
// view's state table. A Coordinator injects numbered barriers into every
// changelog; once every view has committed epoch E, E becomes the cut that
// reads see, so all views are read at one consistent epoch.
//
// State: Materialize keeps the view in a storage/state Table (MVCC by epoch;
// a memory table unless the caller supplies one), keyed by the view key (group
// columns) or, for views without a key, in one of three bag layouts
// (BagMode, materialize_blind.go): counted (the whole row with a hidden count
// — changelog deletes carry no row id, so the row content plus its
// multiplicity is what makes duplicates exact), append-only (each row under
// a fresh row id: writes never read) and insert-mostly (row ids, deletes
// written as cancelling rows that readers skip and a clean-up pass removes);
// the planner hints the layout through HintBagMode. HashAggregate, HashJoin,
// GroupTopN and OverWindow keep their state in memory and, given spill
// tables (WithSpill), move it there past a memory budget at barriers and
// load what a chunk touches back with one vectorized Get per chunk
// (aggregate_spill.go — also in pieces and mid-epoch —, join_spill.go,
// grouptopn_spill.go, overwindow_spill.go). Reads of a view stream from a
// pinned snapshot a page at a time (ViewReader, viewread.go). DISTINCT is a
// HashAggregate with group columns and no aggregates.
//
// Further executors: TopN and GroupTopN (ORDER BY … LIMIT, ranking
// filters, DISTINCT ON; sorted B+trees per partition), SetOp (INTERSECT /
// EXCEPT by row counts), DynamicFilter (a comparison with a changing scalar),
// OverWindow (window functions, recomputing changed partitions),
// RollingWindow (ROWS/default frames over append-only input: ring buffers
// and running moments per partition; an out-of-order row is replayed in
// place for bounded ROWS frames, otherwise the partition falls back to
// OverWindow; history below the order column's watermark is trimmed), Hop and
// Session (time windows), WatermarkFilter (a table's WATERMARK: late rows
// counted and dropped or handed to a callback), EOWC (EMIT ON WINDOW CLOSE),
// AsOfJoin (ASOF [LEFT] JOIN: per-key sides sorted by time, a right change
// revises only the left rows up to the neighbouring right time), Tee (a
// view's output changelog for views over it) and Prefixed (a relation's
// contents as inserts ahead of its changelog: backfill). Their rules are in
// topn_state.go and the files of each executor. Operator state is in Go memory
// except Materialize's and what the spilling operators moved out; the
// stateful executors charge an estimate of theirs to a MemBudget when
// given one (membudget.go) and fail with 53200 when it is refused.
//
// Edges carry Messages: *Chunk (an Arrow batch plus an Op per row: Insert,
// Delete, UpdateDelete, UpdateInsert), Barrier{Epoch, Checkpoint} and
// Watermark{Col, Value}. The package is independent of the planner: callers
// hand in compiled Evaluators (exec.Evaluator satisfies the interface),
// column positions, SQL types and aggregate constructors.
//
//	INSERT/DELETE ──▶ Changelog(t1) ──Subscribe──▶ Source ─▶ Filter ─▶ Project ─┐
//	                       ▲                                                      ├▶ HashJoin ─▶ HashAggregate ─▶ Materialize ──▶ state.Table
//	INSERT/DELETE ──▶ Changelog(t2) ──Subscribe──▶ Source ────────────────────────┘                                   │  (MVCC by epoch)
//	                       ▲                                                                                            │
//	Coordinator ──Barrier{E}──┘ (into every log)     ◀──────────────── CommitView(E) ──────────────────────────────────┘
//	Flush = inject E, wait until every view committed E; reads use the minimum committed epoch.
//
// Invariants:
//  1. Every Executor passes barriers and watermarks on in order; no row of
//     epoch E+1 is emitted before barrier E.
//  2. Barrier alignment: an executor with several inputs forwards barrier E
//     only after receiving E on every input, and reads no input past its
//     barrier E before that.
//  3. A chunk's ops are consistent: UpdateDelete is immediately followed by
//     its UpdateInsert in the same chunk; an executor that drops one half of
//     a pair turns the other half into a plain Delete or Insert.
//  4. Chunk ownership moves with Next: the receiver releases a chunk or
//     passes it on; nobody touches a chunk after handing it on.
//  5. Applying every chunk an executor emitted up to barrier E to an empty
//     collection yields exactly its query evaluated on its inputs' net
//     contents at E (multiset semantics; aggregates use the retractable
//     accumulators so deletes never need a recomputation).
//  6. A Materialize commits epoch E in its state table before reporting E to
//     the Coordinator; E is readable on every view once Committed() ≥ E.
//  7. No panics from data: errors are *pgerror.Error or wrap ctx errors.
//  8. A Changelog never drops an entry an open subscription has not read
//     (Truncate stops at the slowest subscriber).
//  9. Watermarks only move forward per column, and an executor emits a
//     watermark after the rows it covers (WatermarkFilter emits it just
//     before the barrier, so windows it closes land in that epoch).
//  10. A spilling HashAggregate emits exactly the changelog of one without a
//     budget: a group's current state is in memory or, when not, its latest
//     spilled copy is in the spill table, and it is loaded before any row of
//     a chunk touches it.
//  11. A ViewReader holds at most one page of stored rows (plus the scan
//     pieces they were cut from and the batch it last returned), and starts
//     no goroutine.
package stream
