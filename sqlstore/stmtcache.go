package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"sync"
)

// SQLite parses a statement's text every time it is run unless the
// statement is kept prepared, and the driver prepares afresh for each call
// made through database/sql: under load the parser was an eighth of the
// process's CPU (docs/LOAD.md). stmtConnector wraps the driver's connections
// so that each keeps its statements prepared, by query text; PostgreSQL needs
// nothing of the kind (pgx caches prepared statements per connection).

// maxCachedStmts bounds one connection's cache. The store's queries are a
// few hundred texts at most (IN lists of many lengths among them); past the
// bound the cache starts over rather than grow.
const maxCachedStmts = 256

type stmtConnector struct{ driver.Connector }

func (c stmtConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return newStmtConn(conn)
}

// sqliteConn is what the driver's connection offers and stmtConn forwards.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

type stmtConn struct {
	sqliteConn
	mu    sync.Mutex // database/sql uses a connection from one goroutine at a time; this is cheap insurance
	stmts map[string]*cachedStmt
}

type cachedStmt struct {
	st   driver.Stmt
	busy bool // rows of it are open: the same text run meanwhile gets a statement of its own
}

func newStmtConn(conn driver.Conn) (driver.Conn, error) {
	c, ok := conn.(sqliteConn)
	if !ok {
		conn.Close()
		return nil, errors.New("sqlite driver connection lacks the context interfaces")
	}
	return &stmtConn{sqliteConn: c, stmts: map[string]*cachedStmt{}}, nil
}

// take returns the prepared statement for query, marked busy; nil when it
// is in use already (a query run while iterating its own rows).
func (c *stmtConn) take(ctx context.Context, query string) (*cachedStmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cs, ok := c.stmts[query]; ok {
		if cs.busy {
			return nil, nil
		}
		cs.busy = true
		return cs, nil
	}
	st, err := c.sqliteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if len(c.stmts) >= maxCachedStmts {
		c.dropIdle()
	}
	cs := &cachedStmt{st: st, busy: true}
	c.stmts[query] = cs
	return cs, nil
}

func (c *stmtConn) give(cs *cachedStmt) {
	c.mu.Lock()
	cs.busy = false
	c.mu.Unlock()
}

// dropIdle closes every cached statement not in use; c.mu is held.
func (c *stmtConn) dropIdle() {
	for q, cs := range c.stmts {
		if !cs.busy {
			cs.st.Close()
			delete(c.stmts, q)
		}
	}
}

func (c *stmtConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.sqliteConn.ExecContext(ctx, query, args)
	}
	defer c.give(cs)
	return cs.st.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *stmtConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.sqliteConn.QueryContext(ctx, query, args)
	}
	rows, err := cs.st.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		c.give(cs)
		return nil, err
	}
	return &stmtRows{Rows: rows, done: func() { c.give(cs) }}, nil
}

func (c *stmtConn) Close() error {
	c.mu.Lock()
	for q, cs := range c.stmts {
		cs.st.Close()
		delete(c.stmts, q)
	}
	c.mu.Unlock()
	return c.sqliteConn.Close()
}

// stmtRows hands its statement back to the cache when closed (the driver
// resets it then, ready for the next run).
type stmtRows struct {
	driver.Rows
	done func()
}

func (r *stmtRows) Close() error {
	err := r.Rows.Close()
	if r.done != nil {
		r.done()
		r.done = nil
	}
	return err
}
