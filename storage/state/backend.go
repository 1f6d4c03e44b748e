package state

import (
	"context"
	"strings"

	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// BackendKind names a state-table implementation, as chosen per
// materialized view with WITH (state_backend = '…') or by the server
// default. Package storage/state/backends opens tables of each kind.
type BackendKind string

// Backend is the former name of BackendKind.
type Backend = BackendKind

const (
	// BackendMemory is MemoryTable: fastest, volatile between checkpoints.
	BackendMemory BackendKind = "memory"
	// BackendPebble is storage/state/pebblestate: a row KV on Pebble.
	BackendPebble BackendKind = "pebble"
	// BackendColumnar is storage/columnar, the default.
	BackendColumnar BackendKind = "columnar"
)

// DefaultBackend is the server default unless a setting overrides it.
const DefaultBackend = BackendColumnar

// ParseBackend reads a state_backend option value (case-insensitive);
// unknown names are 22023.
func ParseBackend(s string) (BackendKind, error) {
	switch b := BackendKind(strings.ToLower(strings.TrimSpace(s))); b {
	case BackendMemory, BackendPebble, BackendColumnar:
		return b, nil
	}
	return "", pgerror.New(pgerror.InvalidParameterValue, "invalid value for parameter \"state_backend\": %q", s).
		WithHint("Available values: memory, pebble, columnar.")
}

// Checkpointer is implemented by persistent backends: Checkpoint makes
// every committed epoch durable and returns the durable epoch. After a
// crash the table reopens at the last durable epoch; later commits are
// replayed by the engine from source offsets.
type Checkpointer interface {
	Checkpoint(ctx context.Context) (Epoch, error)
}
