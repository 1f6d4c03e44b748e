// Package statetest is a metamorphic test harness shared by the state
// backends: random operation sequences (writes, deletes, range deletes,
// commits, snapshot reads, checkpoints, restarts) run against a table and
// against a plain map model, and every read is compared. A failure reports
// the seed and the operation trace so it can be replayed.
package statetest
