package pgwire

import (
	"context"
	"strconv"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/sabotsql/sabotsql/api"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// prepStmt is a statement created by Parse.
type prepStmt struct {
	name   string
	p      api.Prepared
	params []types.T
}

// portal is a statement bound to parameters by Bind.
type portal struct {
	name    string
	stmt    *prepStmt
	params  []types.Datum
	formats []int16 // per result column

	ctx    context.Context // lives while the portal has open rows
	cancel context.CancelCauseFunc
	cur    *cursor
	done   bool   // ran to completion
	tag    string // command tag once done
	broken bool   // rows were closed because another statement ran
}

// close releases the portal's rows and context.
func (p *portal) close() {
	if p.cur != nil {
		_ = p.cur.rows.Close()
		p.cur = nil
	}
	if p.cancel != nil {
		p.cancel(nil)
		p.cancel = nil
	}
}

func (c *conn) dropStatement(name string) { delete(c.stmts, name) }

func (c *conn) dropPortal(name string) {
	if p, ok := c.portals[name]; ok {
		p.close()
		delete(c.portals, name)
	}
}

func (c *conn) closePortals() {
	for name, p := range c.portals {
		p.close()
		delete(c.portals, name)
	}
}

// suspendOthers closes the rows of every suspended portal but keep before
// the Session runs another statement (api invariant 2).
func (c *conn) suspendOthers(keep *portal) {
	for _, p := range c.portals {
		if p != keep && p.cur != nil {
			p.close()
			p.broken = true
		}
	}
}

// extError reports an extended-protocol error and discards messages up to
// the next Sync.
func (c *conn) extError(ctx context.Context, err error) error {
	c.ignoreTillSync = true
	return c.sendError(ctx, err)
}

func stmtLabel(name string) string {
	if name == "" {
		return "unnamed prepared statement"
	}
	return "prepared statement \"" + name + "\""
}

func (c *conn) handleParse(m *pgproto3.Parse) error {
	if m.Name != "" {
		if _, ok := c.stmts[m.Name]; ok {
			return c.extError(nil, pgerror.New(pgerror.DuplicatePreparedStatement,
				"prepared statement %q already exists", m.Name))
		}
	}
	pts := make([]types.T, len(m.ParameterOIDs))
	for i, oid := range m.ParameterOIDs {
		if oid == 0 {
			pts[i] = types.UnknownT
			continue
		}
		t, ok := types.FromOid(oid)
		if !ok {
			return c.extError(nil, pgerror.New(pgerror.UndefinedObject, "type with OID %d is not supported", oid))
		}
		pts[i] = t
	}
	c.refreshCtx()
	ctx, done := c.beginStatement()
	p, err := c.sess.Prepare(ctx, m.Query, pts)
	if err != nil {
		err = c.extError(ctx, err)
		done()
		return err
	}
	done()
	c.stmts[m.Name] = &prepStmt{name: m.Name, p: p, params: p.ParamTypes()}
	c.send(&pgproto3.ParseComplete{})
	return nil
}

// formatCodes expands a Bind format-code list to n entries.
func formatCodes(codes []int16, n int, what string) ([]int16, error) {
	out := make([]int16, n)
	switch len(codes) {
	case 0:
		return out, nil
	case 1:
		for i := range out {
			out[i] = codes[0]
		}
	case n:
		copy(out, codes)
	default:
		return nil, pgerror.New(pgerror.ProtocolViolation, "bind message has %d %s formats but %d %ss",
			len(codes), what, n, what)
	}
	for _, f := range out {
		if f != fmtText && f != fmtBinary {
			return nil, pgerror.New(pgerror.ProtocolViolation, "unsupported format code: %d", f)
		}
	}
	return out, nil
}

func (c *conn) handleBind(m *pgproto3.Bind) error {
	st, ok := c.stmts[m.PreparedStatement]
	if !ok {
		return c.extError(nil, pgerror.New(pgerror.InvalidSQLStatementName, "%s does not exist", stmtLabel(m.PreparedStatement)))
	}
	if m.DestinationPortal != "" {
		if _, ok := c.portals[m.DestinationPortal]; ok {
			return c.extError(nil, pgerror.New("42P03", "portal %q already exists", m.DestinationPortal))
		}
	} else {
		c.dropPortal("")
	}
	if len(m.Parameters) != len(st.params) {
		return c.extError(nil, pgerror.New(pgerror.ProtocolViolation,
			"bind message supplies %d parameters, but %s requires %d", len(m.Parameters), stmtLabel(st.name), len(st.params)))
	}
	pf, err := formatCodes(m.ParameterFormatCodes, len(m.Parameters), "parameter")
	if err != nil {
		return c.extError(nil, err)
	}
	c.refreshCtx()
	params := make([]types.Datum, len(m.Parameters))
	for i, raw := range m.Parameters {
		if raw == nil {
			continue
		}
		d, err := c.decodeParam(raw, pf[i], st.params[i], i+1)
		if err != nil {
			return c.extError(nil, err)
		}
		params[i] = d
	}
	cols := st.p.Columns()
	rf, err := formatCodes(m.ResultFormatCodes, len(cols), "result")
	if err != nil {
		return c.extError(nil, err)
	}
	c.portals[m.DestinationPortal] = &portal{name: m.DestinationPortal, stmt: st, params: params, formats: rf}
	c.send(&pgproto3.BindComplete{})
	return nil
}

// decodeParam converts one Bind parameter value to a Datum of t.
func (c *conn) decodeParam(raw []byte, format int16, t types.T, n int) (types.Datum, error) {
	if format == fmtBinary {
		if t.Family == types.FamUnknown {
			return nil, pgerror.New(pgerror.IndeterminateDatatype,
				"could not determine data type of parameter $%d", n)
		}
		d, err := types.DecodeBinary(c.tctx, raw, t)
		if err != nil {
			if pe := pgerror.As(err); pe != nil {
				return nil, pe
			}
			return nil, pgerror.Wrap(err, pgerror.InvalidBinaryRepresentation,
				"incorrect binary data format in bind parameter "+itoa(n))
		}
		return d, nil
	}
	if t.Family == types.FamUnknown {
		return string(raw), nil
	}
	d, err := types.ParseText(c.tctx, string(raw), t)
	if err != nil {
		if pe := pgerror.As(err); pe != nil {
			return nil, pe
		}
		return nil, pgerror.Wrap(err, pgerror.InvalidTextRepresentation, "invalid bind parameter $"+itoa(n))
	}
	return d, nil
}

func (c *conn) handleDescribe(m *pgproto3.Describe) error {
	switch m.ObjectType {
	case 'S':
		st, ok := c.stmts[m.Name]
		if !ok {
			return c.extError(nil, pgerror.New(pgerror.InvalidSQLStatementName, "%s does not exist", stmtLabel(m.Name)))
		}
		oids := make([]uint32, len(st.params))
		for i, t := range st.params {
			oids[i] = t.Oid()
		}
		c.send(&pgproto3.ParameterDescription{ParameterOIDs: oids})
		if cols := st.p.Columns(); cols != nil {
			c.sendRowDescription(cols, nil)
		} else {
			c.send(&pgproto3.NoData{})
		}
	case 'P':
		p, ok := c.portals[m.Name]
		if !ok {
			return c.extError(nil, pgerror.New(pgerror.InvalidCursorName, "portal %q does not exist", m.Name))
		}
		if cols := p.stmt.p.Columns(); cols != nil {
			c.sendRowDescription(cols, p.formats)
		} else {
			c.send(&pgproto3.NoData{})
		}
	default:
		return newFatal(pgerror.ProtocolViolation, "invalid DESCRIBE message subtype %d", m.ObjectType)
	}
	return nil
}

func (c *conn) handleClose(m *pgproto3.Close) error {
	switch m.ObjectType {
	case 'S':
		c.dropStatement(m.Name)
	case 'P':
		c.dropPortal(m.Name)
	default:
		return newFatal(pgerror.ProtocolViolation, "invalid CLOSE message subtype %d", m.ObjectType)
	}
	c.send(&pgproto3.CloseComplete{})
	return nil
}

func (c *conn) handleExecute(m *pgproto3.Execute) error {
	p, ok := c.portals[m.Portal]
	if !ok {
		return c.extError(nil, pgerror.New(pgerror.InvalidCursorName, "portal %q does not exist", m.Portal))
	}
	if p.broken {
		return c.extError(nil, pgerror.New(pgerror.ObjectNotInPrerequisiteState,
			"portal %q cannot be resumed: another statement ran on the session after it was suspended", m.Portal))
	}
	if p.done {
		c.send(&pgproto3.CommandComplete{CommandTag: []byte(p.tag)})
		return nil
	}
	c.refreshCtx()
	if p.cur == nil {
		c.suspendOthers(p)
		p.ctx, p.cancel = context.WithCancelCause(c.ctx)
		c.setRunning(p.cancel)
		res, err := c.sess.Execute(p.ctx, p.stmt.p, p.params)
		if err != nil {
			err = c.extError(p.ctx, err)
			c.finishPortal(p, "")
			return err
		}
		c.sendNotices(res.Notices)
		switch {
		case res.EmptyQuery:
			c.send(&pgproto3.EmptyQueryResponse{})
			c.finishPortal(p, "")
			return nil
		case res.Copy != nil:
			if res.Copy.Direction == api.CopyFromStdin {
				if res.Rows != nil {
					_ = res.Rows.Close()
				}
				err = c.copyIn(p.ctx, res.Copy)
			} else {
				err = c.copyOut(p.ctx, res.Copy, res.Rows)
			}
			if err != nil {
				err = c.extError(p.ctx, err)
			}
			c.finishPortal(p, "")
			return err
		case res.Rows == nil:
			c.send(&pgproto3.CommandComplete{CommandTag: []byte(res.Tag)})
			c.finishPortal(p, res.Tag)
			return nil
		}
		p.cur = &cursor{rows: res.Rows, cols: res.Rows.Columns()}
		if len(p.cur.cols) != len(p.formats) {
			// The statement's description and its result disagree; use
			// text for columns without a requested format.
			f := make([]int16, len(p.cur.cols))
			copy(f, p.formats)
			p.formats = f
		}
	} else {
		c.setRunning(p.cancel)
	}
	suspended, err := c.pump(p.ctx, p.cur, p.formats, int64(m.MaxRows))
	if err != nil {
		err = c.extError(p.ctx, err)
		c.finishPortal(p, "")
		return err
	}
	if suspended {
		c.setRunning(nil)
		c.send(&pgproto3.PortalSuspended{})
		return nil
	}
	rows := p.cur.rows
	cerr := rows.Close()
	p.cur = nil
	if cerr != nil {
		err = c.extError(p.ctx, cerr)
		c.finishPortal(p, "")
		return err
	}
	tag := rows.Tag()
	c.send(&pgproto3.CommandComplete{CommandTag: []byte(tag)})
	c.finishPortal(p, tag)
	return nil
}

// finishPortal marks p complete and releases its rows and context.
func (c *conn) finishPortal(p *portal, tag string) {
	c.setRunning(nil)
	p.close()
	p.done = true
	p.tag = tag
}

func itoa(n int) string { return strconv.Itoa(n) }
