package main

import (
	"context"
	"errors"
	"fmt"
	"io"
)

const usage = `carehex — home elderly-care dispatch

usage:
  carehex serve [--data DIR] [--addr HOST:PORT] [--demo]    run everything in one process
  carehex user add --username U --role operator|supervisor|admin --password-stdin [--area DISTRICT] [--data DIR]
  carehex user unlock|disable|enable --username U [--data DIR]   lift a login lockout; withdraw or restore an account
  carehex backup --out FILE [--data DIR]                    copy the SQLite database while the server runs
  carehex restore --from FILE [--data DIR] [--force]        put a backup in place and check it
  carehex demo seed [--residents N] [--providers N] [--data DIR] [--history 365d [--per-day N] [--history-end DATE]]
  carehex bench dispatch --redis-url URL [--providers N] [--clients N]
  carehex bench idle [--phones N] [--duration D] [--addr URL --username U --password P]
  carehex bench roster [--providers N] [--visits N] [--days N] [--seed N] [--time-limit D]
  carehex dashboard rebuild [--data DIR] [--days N]   (or CAREHEX_DATABASE_URL)
  carehex bench dashboard [--data DIR] [--days N] [--runs N] [--district NAME]   (or CAREHEX_DATABASE_URL)
  carehex bench load [--rate N] [--duration D] [--database-url URL] [--redis-url URL] [--transport twirp|nethttp|both]
  carehex bench load --addr URL --username U --password P [--rate N] [--duration D]   (a running server; its CPU from /metrics)
  carehex settle --month YYYY-MM [--data DIR] [--close] [--out DIR]   monthly statements of the organisations
  carehex programme compliance [--month YYYY-MM] [--category C] [--data DIR]   visiting programmes (探访关爱): who is overdue, per street and organisation
  carehex card print --resident ID|--all --out DIR [--data DIR]   residents' service cards (PNG; key CAREHEX_CARD_KEY)
  carehex org add --name N --price-fen N [--kind K] [--services CODES] [--requires-card-scan] [--data DIR]   an organisation and its per-visit contract
  carehex export open-data --from DATE --to DATE [--res 7] [--k 5] --out DIR [--data DIR]   desensitised figures per H3 cell and day
  carehex export resident --id RES --out DIR [--data DIR]   a resident's own data (JSON, CSV), audited
  carehex resident erase --id RES [--data DIR]              erase a deactivated resident's personal data now
  carehex audit verify [--data DIR] [--from DATE] [--anchors FILE]   recompute the trail's hash chains; non-zero naming the first bad record
  carehex audit anchor [--data DIR] [--export FILE]   anchor the chains' heads now; export every anchor as JSON
  carehex simulate [--preset small|city] [--seed N] [--addr URL] [--residents N] [--providers N] [--record FILE] [--replay FILE] [--compare] [--map FILE]

Environment: CAREHEX_ADDR, CAREHEX_DATA, CAREHEX_DATABASE_URL (postgres://…),
CAREHEX_REDIS_URL (redis://…), CAREHEX_LOG_LEVEL (debug|info|warn|error);
logins and access (see README): CAREHEX_LOGIN_MAX_FAILURES, CAREHEX_LOGIN_MAX_ADDR_FAILURES,
CAREHEX_LOGIN_WINDOW, CAREHEX_LOGIN_LOCKOUT, CAREHEX_LOGIN_MAX_LOCKOUT, CAREHEX_HASH_CONCURRENCY,
CAREHEX_FAMILY_TOKEN_TTL, CAREHEX_TRUST_FORWARDED_FOR; privacy: CAREHEX_BULK_ACCESS_LIMIT,
CAREHEX_BULK_ACCESS_WINDOW, CAREHEX_DATA_KEY (base64 keys, comma-separated, first encrypts),
CAREHEX_CARD_KEY (base64, 32 bytes: signs service cards; default a key kept in the database),
CAREHEX_GPS_RETENTION (default 90d), CAREHEX_RESIDENT_RETENTION (default 1095d);
CAREHEX_METRICS_ADDR (default 127.0.0.1:9090; off disables), CAREHEX_BACKUP_EVERY
(e.g. 6h), CAREHEX_BACKUP_DIR (default DATA/backups), CAREHEX_BACKUP_KEEP (default 7).
`

// errUsage is returned after the usage text has been printed.
var errUsage = errors.New("bad usage (see above)")

// run is the whole program: main passes it the process's arguments,
// environment and streams, so tests can run it in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch cmd, rest := args[0], args[1:]; {
	case cmd == "serve":
		return serve(ctx, rest, getenv, stdout, stderr)
	case cmd == "user" && len(rest) > 0 && rest[0] == "add":
		return userAdd(ctx, rest[1:], getenv, stdin, stdout, stderr)
	case cmd == "user" && len(rest) > 0 && (rest[0] == "unlock" || rest[0] == "disable" || rest[0] == "enable"):
		return userAccess(ctx, rest[0], rest[1:], getenv, stdout, stderr)
	case cmd == "backup":
		return backup(ctx, rest, getenv, stdout, stderr)
	case cmd == "restore":
		return restore(ctx, rest, getenv, stdout, stderr)
	case cmd == "demo" && len(rest) > 0 && rest[0] == "seed":
		return demoSeed(ctx, rest[1:], getenv, stdout, stderr)
	case cmd == "bench" && len(rest) > 0 && rest[0] == "dispatch":
		return benchDispatch(ctx, rest[1:], getenv, stdout, stderr)
	case cmd == "bench" && len(rest) > 0 && rest[0] == "idle":
		return benchIdle(ctx, rest[1:], getenv, stdout, stderr)
	case cmd == "bench" && len(rest) > 0 && rest[0] == "roster":
		return benchRoster(ctx, rest[1:], getenv, stdout, stderr)
	case cmd == "dashboard" && len(rest) > 0 && rest[0] == "rebuild":
		return dashboardRebuild(ctx, rest[1:], getenv, stdout, stderr)
	case cmd == "bench" && len(rest) > 0 && rest[0] == "dashboard":
		return benchDashboard(ctx, rest[1:], getenv, stdout, stderr)
	case cmd == "bench" && len(rest) > 0 && rest[0] == "load":
		return benchLoad(ctx, rest[1:], getenv, stdout, stderr)
	case cmd == "programme" && len(rest) > 0 && rest[0] == "compliance":
		return programmeCompliance(ctx, rest[1:], getenv, stdout, stderr)
	case cmd == "settle":
		return settleMonth(ctx, rest, getenv, stdout, stderr)
	case cmd == "card" && len(rest) > 0 && rest[0] == "print":
		return cardPrint(ctx, rest[1:], getenv, stdout, stderr)
	case cmd == "org" && len(rest) > 0 && rest[0] == "add":
		return orgAdd(ctx, rest[1:], getenv, stdout, stderr)
	case cmd == "resident" && len(rest) > 0 && rest[0] == "erase":
		return eraseResident(ctx, rest[1:], getenv, stdout, stderr)
	case cmd == "export":
		return exportCmd(ctx, rest, getenv, stdout, stderr)
	case cmd == "audit":
		return auditCmd(ctx, rest, getenv, stdout, stderr)
	case cmd == "simulate":
		return simulate(ctx, rest, getenv, stdout, stderr)
	case cmd == "help" || cmd == "-h" || cmd == "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}
