// Package pgwire is SabotSQL's PostgreSQL wire-protocol (v3) server. It
// accepts client connections (optionally upgraded to TLS), authenticates them
// with trust or SCRAM-SHA-256 (-PLUS over TLS), and translates the simple and extended query
// protocols, COPY, notices and query cancellation onto the api.Engine and
// api.Session contract. Message framing is done by pgx's pgproto3; value
// conversion by sql/types.
//
// Each connection is served by one goroutine that owns its api.Session and
// its output buffer, so a slow client only ever blocks itself; the server
// keeps a small registry of live connections (touched on connect,
// disconnect, cancel and shutdown, never on the send path).
//
// Invariants:
//  1. A connection's Session is only called from that connection's
//     goroutine. During COPY FROM STDIN a helper goroutine reads the socket
//     and feeds Session.CopyIn through a pipe; nothing else reads it then.
//  2. Every error sent to a client carries a SQLSTATE: errors without a
//     *pgerror.Error become 57014 (context cancellation) or XX000.
//  3. Malformed input never panics: protocol errors end the connection with
//     a FATAL 08P01 (or 54000 for oversized messages), never the server.
//  4. After an error in the extended protocol every message up to the next
//     Sync is discarded, and every Sync is answered with ReadyForQuery.
//  5. Every write to a client has a deadline (Config.WriteTimeout), so a
//     client that stops reading is eventually disconnected.
//  6. A suspended portal's Rows are closed before the Session runs any other
//     statement (api invariant 2); resuming it afterwards is an error.
package pgwire
