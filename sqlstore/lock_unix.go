//go:build unix

package sqlstore

import (
	"errors"
	"os"
	"syscall"

	"github.com/carehex/carehex"
)

// Every process that opens the SQLite file through Open holds a shared
// flock on "<file>-lock" until Close; Restore takes it exclusively, so it
// never replaces a database under a running server, and no server starts on
// a database being restored. The kernel drops the lock when a process dies,
// so a crash leaves nothing to clean up.

func lockShared(dbPath string) (unlock func(), err error) {
	return flock(dbPath, syscall.LOCK_SH, "a restore into this directory is under way; start carehex when it has finished")
}

func lockExclusive(dbPath string) (unlock func(), err error) {
	return flock(dbPath, syscall.LOCK_EX, "a carehex process (serve, user add, demo seed) has this database open; stop it before restoring")
}

func flock(dbPath string, how int, busy string) (func(), error) {
	f, err := os.OpenFile(dbPath+"-lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, carehex.Internal(err, "open lock file")
	}
	if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &carehex.Error{Code: carehex.ECONFLICT, Field: "data", Message: busy, Err: ErrDatabaseInUse}
		}
		return nil, carehex.Internal(err, "lock database")
	}
	var once bool
	return func() {
		if !once {
			once = true
			f.Close() // closing the descriptor releases the lock
		}
	}, nil
}
