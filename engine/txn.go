package engine

import (
	"time"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/sabotsql/sabotsql/api"
	"github.com/sabotsql/sabotsql/exec/stream"
	"github.com/sabotsql/sabotsql/sql/catalog"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// txn is an open transaction block: the undo log of its changes.
type txn struct {
	start types.TimestampTZ
	undo  []undoEntry
}

type undoKind uint8

const (
	undoInsert undoKind = iota // rows were inserted: delete them
	undoDelete                 // rows were deleted: revive them
	undoCreate                 // a relation was created: drop it
)

type undoEntry struct {
	kind  undoKind
	table catalog.ObjectID
	rows  []int64
}

func (s *Session) recordUndo(u undoEntry) {
	s.e.walNoteUndo(s, u)
	if s.txn != nil {
		s.txn.undo = append(s.txn.undo, u)
	}
}

func (s *Session) transaction(t *pg_query.TransactionStmt) (api.Result, error) {
	switch t.Kind {
	case pg_query.TransactionStmtKind_TRANS_STMT_BEGIN, pg_query.TransactionStmtKind_TRANS_STMT_START:
		if s.txn != nil {
			return api.Result{Tag: "BEGIN", Notices: []string{"there is already a transaction in progress"}}, nil
		}
		s.txn = &txn{start: types.TimestampTZ(time.Now().UnixMicro())}
		s.txFailed = false
		return api.Result{Tag: "BEGIN"}, nil
	case pg_query.TransactionStmtKind_TRANS_STMT_COMMIT:
		if s.txn == nil {
			return api.Result{Tag: "COMMIT", Notices: []string{"there is no transaction in progress"}}, nil
		}
		if s.txFailed {
			s.rollback()
			return api.Result{Tag: "ROLLBACK"}, nil
		}
		s.e.walCommit(s)
		s.txn = nil
		return api.Result{Tag: "COMMIT"}, nil
	case pg_query.TransactionStmtKind_TRANS_STMT_ROLLBACK:
		if s.txn == nil {
			return api.Result{Tag: "ROLLBACK", Notices: []string{"there is no transaction in progress"}}, nil
		}
		s.rollback()
		return api.Result{Tag: "ROLLBACK"}, nil
	}
	return api.Result{}, pgerror.Unsupported("savepoints and two-phase commit are not supported")
}

// rollback reverts the open block's changes, newest first.
func (s *Session) rollback() {
	if s.txn == nil {
		return
	}
	s.e.writeMu.Lock()
	defer s.e.writeMu.Unlock()
	for i := len(s.txn.undo) - 1; i >= 0; i-- {
		s.applyUndo(s.txn.undo[i])
		s.e.walUndo(s)
	}
	s.e.walAbort(s)
	s.txn = nil
	s.txFailed = false
}

// applyUndo reverts one change (writeMu held).
func (s *Session) applyUndo(u undoEntry) {
	switch u.kind {
	case undoCreate:
		if r, ok := s.e.cat.ByID(u.table); ok {
			for _, d := range s.e.cat.Dependents(u.table) {
				s.removeRelation(d)
			}
			s.removeRelation(r)
		} else {
			s.undoCreateFunction(u.table)
		}
	case undoInsert:
		if ts := s.e.table(u.table); ts != nil {
			s.e.publishIDs(ts, stream.Delete, u.rows)
			s.removeIndexEntries(ts, u.rows)
			ts.store.Delete(u.rows)
		}
	case undoDelete:
		if ts := s.e.table(u.table); ts != nil {
			ts.store.Undelete(u.rows)
			s.restoreIndexEntries(ts, u.rows)
			s.e.publishIDs(ts, stream.Insert, u.rows)
		}
	}
}
