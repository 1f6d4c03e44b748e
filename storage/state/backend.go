package state

import (
	"context"
	"strings"

	"github.com/sabotsql/sabotsql/sql/pgerror"
)

// Backend names a state-table implementation, as chosen per materialized
// view with WITH (state_backend = '…') or by the server default.
type Backend string

const (
	// BackendMemory is MemoryTable: fastest, volatile between checkpoints.
	BackendMemory Backend = "memory"
	// BackendPebble is a row KV on Pebble (not built yet).
	BackendPebble Backend = "pebble"
	// BackendColumnar is storage/columnar, the default.
	BackendColumnar Backend = "columnar"
)

// DefaultBackend is the server default unless a setting overrides it.
const DefaultBackend = BackendColumnar

// ParseBackend reads a state_backend option value (case-insensitive);
// unknown names are 22023.
func ParseBackend(s string) (Backend, error) {
	switch b := Backend(strings.ToLower(strings.TrimSpace(s))); b {
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
