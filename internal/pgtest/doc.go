// Package pgtest starts a throwaway PostgreSQL 15 server for tests: a fresh
// data directory from initdb, a private Unix-socket directory, a free TCP
// port on 127.0.0.1, and durability switched off for speed. Tests use it as
// the reference engine (the sqllogictest runner validates itself against it)
// and as a client-compatibility oracle.
//
// The binaries come from the Debian package postgresql-15
// (/usr/lib/postgresql/15/bin, or `pg_config --bindir`). When they are
// missing, StartT fails the test with a message naming that package: it
// never skips, so a CI image without PostgreSQL cannot pass silently.
//
// Invariants:
//  1. A Server owns its directory: Stop shuts the server down and removes
//     the directory; nothing outside it is written.
//  2. Readiness is decided by a successful connection, polled under the
//     caller's context (bounded by a timeout), never by a fixed sleep.
//  3. initdb and postgres never run as root: under euid 0 they run as the
//     `postgres` user through runuser, and the directory is chowned to it.
//  4. Errors carry the tail of the server's log so a failed start explains
//     itself.
package pgtest
