// Package crash is the crash-recovery harness: it runs `sabotsql serve` as
// a subprocess, streams INSERT/UPDATE/DELETE statements and transaction
// blocks over pgwire from several connections while materialized views (an
// aggregate, a join and a tumble-window aggregate) are maintained, kills
// the server with SIGKILL at random moments, restarts it on the same data
// directory and checks every table and view against an oracle built from
// exactly the acknowledged statements. One restart in four is itself
// killed a few milliseconds after start (usually mid-recovery), and the
// last stop is a SIGTERM (a clean shutdown takes a checkpoint).
//
// Each worker owns a disjoint set of rows, so the effect of each of its
// statements is known in advance. A statement that returned an error or
// lost its connection is "unknown": the oracle accepts the state with or
// without it (all of it or none of it, for a transaction block) and adopts
// whichever the recovered server shows.
//
// Invariants checked after every restart:
//
//  1. Each worker's rows equal its oracle (no acknowledged write lost, none
//     applied twice, no unacknowledged write except the single unknown one).
//  2. Every view equals the same query run as a plain SELECT on the base
//     tables, and equals the aggregates computed from the oracle.
//
// `go test ./tests/crash/ -crash.kills=500` runs hundreds of kills; the
// default (20) keeps CI under a minute.
package crash
