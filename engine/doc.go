// Package engine is SabotSQL's embedded database: it owns the catalog, the
// table stores and the function registry, and runs statements for sessions.
// Front ends (pgwire, the sqllogictest driver, Go programs) use it through
// the api package's interfaces; Open returns an *Engine usable directly from
// Go without the network.
//
//	session ─▶ parser ─▶ planner ─▶ exec.Build ─▶ operators ─▶ api.Rows
//	   │                    │
//	   │                    └─ catalog (names, types), pgcatalog (virtual)
//	   └─ DDL/DML apply ─▶ table stores (+ unique indexes, undo log)
//
// Invariants:
//  1. Writers (DDL and DML) are serialized by the engine's write lock; reads
//     never take it: table scans read copy-on-write snapshots.
//  2. A DML statement validates every constraint before it changes anything,
//     so a failed statement leaves no trace.
//  3. Inside BEGIN … COMMIT every change is recorded in the session's undo
//     log; ROLLBACK (or an error that aborts the block and a later ROLLBACK)
//     reverts them. Other sessions see changes as soon as each statement
//     finishes (read uncommitted across sessions; documented in ARCHITECTURE.md).
//  4. A table's changelog retains at most the changelog share of
//     MemoryLimit plus one statement per concurrent writer: a statement on
//     a table over it waits, before changing anything and without the write
//     lock, until the views consumed it (backpressure.go).
//  5. The base tables' in-memory rows are charged to the state budget, up
//     to half of it (tablecharge.go): as tables grow, the views' memtables
//     and block caches get less, not the Go heap more.
//  6. A view's backfill sends chunks of at most backfillChunkRows rows, which
//     bounds the blocks one spill lookup holds at once.
package engine
