// Package vfs is the filesystem interface every columnar-store file
// operation goes through, with an OS implementation, an in-memory one and a
// fault-injecting wrapper for tests.
//
// Invariants:
//  1. Names are flat file names inside the FS root (no directories).
//  2. Data written to a File is durable only after File.Sync returns nil; a
//     rename is durable only after SyncDir.
//  3. Implementations are safe for concurrent use on distinct files.
package vfs
