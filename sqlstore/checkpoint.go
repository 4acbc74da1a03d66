package sqlstore

import (
	"context"
	"time"
)

// SQLite appends every commit to its write-ahead log and, by default, the
// connection whose commit takes the log past 1,000 pages copies the log back
// into the database file there and then, fsyncs included. Here that
// connection is the one writer, so every request queued behind it waited
// for the copy: at 100 requests/s a checkpoint every half second, the tail
// of the create latency (docs/LOAD.md). The writer's automatic checkpoint is
// off (openSQLite) and a goroutine of the store's own copies the log on a
// read connection instead. A PASSIVE checkpoint waits for nobody and blocks
// nobody: the writer goes on appending while it copies.

// checkpointGap is the least time between two checkpoints: under load one a
// second keeps the log to a second's writes; an idle store runs none.
const checkpointGap = time.Second

type checkpointer struct {
	nudge  chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

// startCheckpointer starts the SQLite store's checkpointer; PostgreSQL has
// none.
func (s *DB) startCheckpointer() {
	if s.dialect != DialectSQLite {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &checkpointer{nudge: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	s.checkpoint = c
	go func() {
		defer close(c.done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-c.nudge:
			}
			// A failed checkpoint leaves the log longer; the next commit
			// asks again, and closing the store checkpoints what is left.
			var busy, logPages, copied int
			_ = s.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logPages, &copied)
			select {
			case <-ctx.Done():
				return
			case <-time.After(checkpointGap):
			}
		}
	}()
}

// committed tells the checkpointer that the log grew.
func (c *checkpointer) committed() {
	if c == nil {
		return
	}
	select {
	case c.nudge <- struct{}{}:
	default:
	}
}

func (c *checkpointer) stop() {
	if c == nil {
		return
	}
	c.cancel()
	<-c.done
}
