package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/carehex/carehex/dispatch"
	mobileapi "github.com/carehex/carehex/mobile-api"
	"github.com/carehex/carehex/providers"
	"github.com/redis/go-redis/v9"
)

// Config is every setting of the carehex binary. Defaults are in code;
// CAREHEX_* variables override them and flags override those.
type Config struct {
	Addr        string        // listen address
	MetricsAddr string        // listen address of GET /metrics; empty disables it
	DataDir     string        // SQLite file and other local state
	DatabaseURL string        // postgres://…; empty means SQLite under DataDir
	RedisURL    string        // redis://…; empty means an in-process Redis-protocol server
	Zone        string        // dispatch zone (city) whose live state this process serves
	OfferTTL    time.Duration // how long a provider has to accept an offer
	// EmergencyDeadline is how long an emergency may go unaccepted before
	// the operator is alerted and the escalation panel opens.
	EmergencyDeadline time.Duration
	Reconcile         time.Duration // how often waiters re-read with no notice (the safety net for lost notices)
	Demo              bool          // seed demo data and accounts on an empty database
	DemoPhones        int           // simulated carer phones to play; -1: defaultDemoPhones with Demo, else none
	LogLevel          string        // debug, info, warn, error
	ShutdownTimeout   time.Duration // how long in-flight calls get on shutdown
	Access            accessConfig  // login throttle, password hashing, token lifetimes (accessconfig.go)
	BackupEvery       time.Duration // scheduled copies of the SQLite file; 0 means none
	BackupDir         string        // where they go; empty means DataDir/backups
	BackupKeep        int           // how many scheduled copies are kept
	// CTISecret keys the HMAC the telephone system signs call events with
	// (POST /cti/v1/calls); empty turns that endpoint off. Environment only:
	// a secret on the command line would show in the process list.
	CTISecret string
	// Hotline is the number the family page offers to call
	// (CAREHEX_HOTLINE; the 12349 hotline by default).
	Hotline string
	// DataKey (CAREHEX_DATA_KEY) encrypts ID numbers at rest: base64 keys,
	// comma-separated, the first encrypting (sqlstore.ParseDataKeys). Empty:
	// the key file beside the SQLite database, generated if missing.
	// Environment only, like CTISecret.
	DataKey string
	// CardKey (CAREHEX_CARD_KEY) signs residents' service cards: 32 bytes
	// in base64. Empty: a key kept in the database, made on first use.
	// Environment only, like CTISecret.
	CardKey string
	// GPSRetention is how long raw GPS points of visits are kept before
	// they are reduced to the verification summary (CAREHEX_GPS_RETENTION).
	GPSRetention time.Duration
	// ResidentRetention is how long a deactivated resident's personal data
	// is kept before it is erased (CAREHEX_RESIDENT_RETENTION).
	ResidentRetention time.Duration

	gpsRetentionText      string
	residentRetentionText string
	Map                   mapConfig // the console map's tiles, boundaries and geocoder (mapconfig.go)
	// PlanHorizon is how far ahead care plans are projected into planned
	// visits (CAREHEX_PLAN_HORIZON, planconfig.go).
	PlanHorizon time.Duration
	// OrgRouting is two-tier dispatch (CAREHEX_DISPATCH_VIA_ORG…, orgrouteconfig.go).
	OrgRouting orgRoutingConfig
	// Evidence: visit photos and the fraud signals' settings (fraudconfig.go).
	Evidence evidenceConfig
	// PlanHandOff: a changed planned visit starting sooner than this goes
	// to on-demand dispatch (CAREHEX_PLAN_HANDOFF, planconfig.go).
	PlanHandOff time.Duration
	Quality     qualityConfig // callbacks and complaints (quality.go)
	Dash        dashConfig    // the supervisor dashboard's targets and refresh (dashconfig.go)

	offerTTLText    string // CAREHEX_OFFER_TTL as given, parsed by validate
	deadlineText    string // CAREHEX_EMERGENCY_DEADLINE as given
	reconcileText   string // CAREHEX_RECONCILE as given
	backupEveryText string // CAREHEX_BACKUP_EVERY as given
	backupKeepText  string // CAREHEX_BACKUP_KEEP as given
	planHorizonText string // CAREHEX_PLAN_HORIZON as given
	planHandOffText string // CAREHEX_PLAN_HANDOFF as given
}

func defaultConfig(getenv func(string) string) Config {
	c := Config{
		Addr:              "127.0.0.1:8080",
		MetricsAddr:       "127.0.0.1:9090",
		DataDir:           "./data",
		LogLevel:          "info",
		Zone:              providers.DefaultZone,
		OfferTTL:          dispatch.DefaultConfig().OfferTTL,
		EmergencyDeadline: dispatch.DefaultConfig().Emergency.Deadline,
		Reconcile:         mobileapi.DefaultConfig().Reconcile,
		ShutdownTimeout:   10 * time.Second,
		BackupKeep:        7,
	}
	set := func(dst *string, key string) {
		if v := getenv(key); v != "" {
			*dst = v
		}
	}
	set(&c.Addr, "CAREHEX_ADDR")
	set(&c.DataDir, "CAREHEX_DATA")
	set(&c.MetricsAddr, "CAREHEX_METRICS_ADDR")
	set(&c.DatabaseURL, "CAREHEX_DATABASE_URL")
	set(&c.RedisURL, "CAREHEX_REDIS_URL")
	set(&c.LogLevel, "CAREHEX_LOG_LEVEL")
	set(&c.Zone, "CAREHEX_ZONE")
	set(&c.CTISecret, "CAREHEX_CTI_SECRET")
	set(&c.Hotline, "CAREHEX_HOTLINE")
	set(&c.DataKey, "CAREHEX_DATA_KEY")
	set(&c.CardKey, "CAREHEX_CARD_KEY")
	c.gpsRetentionText = getenv("CAREHEX_GPS_RETENTION")
	c.residentRetentionText = getenv("CAREHEX_RESIDENT_RETENTION")
	c.offerTTLText = getenv("CAREHEX_OFFER_TTL")
	c.deadlineText = getenv("CAREHEX_EMERGENCY_DEADLINE")
	c.reconcileText = getenv("CAREHEX_RECONCILE")
	c.Access = defaultAccessConfig(getenv)
	c.Map = defaultMapConfig(getenv)
	c.Evidence = defaultEvidenceConfig(getenv)
	c.Dash = defaultDashConfig(getenv)
	set(&c.BackupDir, "CAREHEX_BACKUP_DIR")
	c.backupEveryText = getenv("CAREHEX_BACKUP_EVERY")
	c.backupKeepText = getenv("CAREHEX_BACKUP_KEEP")
	c.planHorizonText = getenv("CAREHEX_PLAN_HORIZON")
	c.OrgRouting = defaultOrgRouting(getenv)
	c.planHandOffText = getenv("CAREHEX_PLAN_HANDOFF")
	c.Quality = defaultQualityConfig(getenv)
	return c
}

// storeFlags registers the flags every command that opens the database shares.
func (c *Config) storeFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.DataDir, "data", c.DataDir, "directory for the SQLite file (env CAREHEX_DATA)")
}

// validate fails fast with a message a newcomer can act on.
func (c *Config) validate() error {
	var err error
	if c.GPSRetention, err = parseRetention("CAREHEX_GPS_RETENTION", c.gpsRetentionText, defaultGPSRetention); err != nil {
		return err
	}
	if c.ResidentRetention, err = parseRetention("CAREHEX_RESIDENT_RETENTION", c.residentRetentionText, defaultResidentRetention); err != nil {
		return err
	}
	if err := c.Quality.parse(); err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("--addr / CAREHEX_ADDR %q is not HOST:PORT (e.g. 127.0.0.1:8080): %v", c.Addr, err)
	}
	switch strings.ToLower(strings.TrimSpace(c.MetricsAddr)) {
	case "off", "none":
		// getenv cannot tell an empty variable from a missing one, so
		// the environment turns metrics off with a word.
		c.MetricsAddr = ""
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return fmt.Errorf("--metrics-addr / CAREHEX_METRICS_ADDR %q is not HOST:PORT (e.g. 127.0.0.1:9090; empty turns metrics off): %v", c.MetricsAddr, err)
		}
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		return fmt.Errorf("CAREHEX_DATABASE_URL must start with postgres:// (leave it empty for the SQLite file under --data)")
	}
	if c.DatabaseURL == "" && c.DataDir == "" {
		return fmt.Errorf("--data must name a directory for the SQLite file")
	}
	if c.RedisURL != "" {
		rdb, err := redisClient(c.RedisURL)
		if err != nil {
			return fmt.Errorf("CAREHEX_REDIS_URL: %v (expected redis://host:port/db, or for Redis Cluster redis://host1:port1?addr=host2:port2&addr=…)", err)
		}
		rdb.Close() // only parsed here; serve connects later

	}
	if c.offerTTLText != "" {
		d, err := time.ParseDuration(c.offerTTLText)
		if err != nil || d < 5*time.Second || d > 10*time.Minute {
			return fmt.Errorf("CAREHEX_OFFER_TTL %q must be a duration from 5s to 10m, e.g. 45s", c.offerTTLText)
		}
		c.OfferTTL = d
	}
	if c.deadlineText != "" {
		d, err := time.ParseDuration(c.deadlineText)
		if err != nil || d < 10*time.Second || d > 30*time.Minute {
			return fmt.Errorf("CAREHEX_EMERGENCY_DEADLINE %q must be a duration from 10s to 30m, e.g. 3m", c.deadlineText)
		}
		c.EmergencyDeadline = d
	}
	if c.reconcileText != "" {
		// Below a second it would be polling again. Above a minute a lost
		// notice would leave a phone without its offer past its expiry:
		// only tests and benchmarks do that (to show that only the push
		// path can have delivered something), hence the hour.
		d, err := time.ParseDuration(c.reconcileText)
		if err != nil || d < time.Second || d > time.Hour {
			return fmt.Errorf("CAREHEX_RECONCILE %q must be a duration from 1s to 1h, e.g. 20s", c.reconcileText)
		}
		c.Reconcile = d
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return err
	}
	if err := c.Access.validate(); err != nil {
		return err
	}
	if err := c.Map.validate(); err != nil {
		return err
	}
	if err := c.validatePlan(); err != nil {
		return err
	}
	if err := c.OrgRouting.validate(); err != nil {
		return err
	}
	if err := c.Evidence.validate(c.DataDir); err != nil {
		return err
	}
	if err := c.Dash.validate(); err != nil {
		return err
	}
	return c.validateBackups()
}

// validateBackups reads the scheduled-backup settings.
func (c *Config) validateBackups() error {
	if c.backupEveryText != "" && c.backupEveryText != "0" && c.backupEveryText != "off" {
		d, err := time.ParseDuration(c.backupEveryText)
		if err != nil || d < time.Minute {
			return fmt.Errorf("CAREHEX_BACKUP_EVERY %q must be a duration of at least 1m, e.g. 6h (or off)", c.backupEveryText)
		}
		c.BackupEvery = d
	}
	if c.backupKeepText != "" {
		n, err := strconv.Atoi(c.backupKeepText)
		if err != nil || n < 1 || n > 1000 {
			return fmt.Errorf("CAREHEX_BACKUP_KEEP %q must be a number of copies from 1 to 1000", c.backupKeepText)
		}
		c.BackupKeep = n
	}
	if c.BackupEvery > 0 && c.DatabaseURL != "" {
		return fmt.Errorf("CAREHEX_BACKUP_EVERY copies the embedded SQLite file; with CAREHEX_DATABASE_URL, back up PostgreSQL with pg_dump and WAL archiving (README, Backups) and unset CAREHEX_BACKUP_EVERY")
	}
	if c.BackupDir == "" {
		c.BackupDir = filepath.Join(c.DataDir, "backups")
	}
	return nil
}

// redisClient connects to one redis-server, or to a Redis Cluster when the
// URL lists more nodes with addr= parameters.
//
// Redis holds only state that can be rebuilt, and every caller has a
// fallback (the dispatcher's next pass each second, the phone's next
// heartbeat), so a Redis that is away is reported at once as unavailable
// rather than dialled for seconds: one dial, no dial retries, one command
// retry after a short pause. Settings given in the URL (dial_timeout,
// max_retries, …) win.
func redisClient(url string) (redis.UniversalClient, error) {
	if strings.Contains(url, "addr=") {
		opt, err := redis.ParseClusterURL(url)
		if err != nil {
			return nil, err
		}
		failFast(url, &opt.DialTimeout, &opt.DialerRetries, &opt.DialerRetryTimeout, &opt.MaxRetries, &opt.MaxRetryBackoff)
		return redis.NewClusterClient(opt), nil
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	failFast(url, &opt.DialTimeout, &opt.DialerRetries, &opt.DialerRetryTimeout, &opt.MaxRetries, &opt.MaxRetryBackoff)
	return redis.NewClient(opt), nil
}

// failFast sets the fail-fast dial and retry settings on a client's options,
// except those the URL gives.
func failFast(url string, dialTimeout *time.Duration, dialRetries *int, dialPause *time.Duration, retries *int, backoff *time.Duration) {
	const pause = 20 * time.Millisecond
	if !strings.Contains(url, "dial_timeout=") {
		*dialTimeout = 500 * time.Millisecond
	}
	if !strings.Contains(url, "dialer_retries=") {
		*dialRetries, *dialPause = 1, pause
	}
	if !strings.Contains(url, "max_retries=") {
		*retries, *backoff = 1, pause
	}
}

// dsn is what sqlstore.Open takes: the PostgreSQL URL or the SQLite file.
func (c *Config) dsn() string {
	if c.DatabaseURL != "" {
		return c.DatabaseURL
	}
	return filepath.Join(c.DataDir, "carehex.db")
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("CAREHEX_LOG_LEVEL %q must be debug, info, warn or error", s)
	}
	return l, nil
}

func newLogger(w io.Writer, level string) *slog.Logger {
	l, _ := parseLevel(level)
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// parseFlags parses args, sending flag errors and -h to stderr.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}
