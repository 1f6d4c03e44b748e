// Package clients is the PostgreSQL client matrix: it starts the real
// SabotSQL server (engine + pgwire) in-process on loopback ports and runs one
// real client program per driver against it — psql, pgx v5 (in-process,
// including Batch and CopyFrom), database/sql through pgx's stdlib,
// psycopg2, the PostgreSQL JDBC driver and node-postgres — each executing
// the same scenario: connect (trust and SCRAM-SHA-256), create a table,
// insert and select with parameters, reuse a prepared statement, round-trip
// a value of every supported type (text and, where the driver uses it,
// binary format), an error carrying its SQLSTATE, and the cancel of a long
// query (57014).
//
// External programs live beside this file (psql/, python/, java/, node/)
// and print "ok <step>" for each step they pass and "FAIL <step>: …" for
// each step that fails (later steps still run), exiting non-zero if any
// failed. A step that probes a known, accepted gap prints "gap <step>: …"
// instead, which the test logs without failing. tests/clients/install.sh installs them; the
// test fails, never skips, when one is missing.
//
// Invariants:
//  1. Every client's scenario runs against its own tables (prefixed by the
//     client's name), so clients never see each other's data.
//  2. Cancellation is synchronized, never timed: a probe wrapped around the
//     engine reports when the long query (marked by a per-client alias)
//     reaches the server, and only then is the client told (on its stdin,
//     or by a channel in-process) to cancel it.
//  3. The Go test checks each program's exit status and that every
//     expected step printed "ok", so a program that silently skips a step
//     fails the test.
//  4. Every subprocess runs under a deadline, so a hung client fails the
//     test with its output instead of hanging CI.
package clients
