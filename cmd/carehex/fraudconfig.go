package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/evidence"
	mobileapi "github.com/carehex/carehex/mobile-api"
	"github.com/carehex/carehex/sqlstore"
)

// evidenceConfig is where visit photos go and the fraud signals'
// thresholds (the district's settings, carehex.FraudSettings).
type evidenceConfig struct {
	// S3URL (CAREHEX_EVIDENCE_S3_URL) turns on S3-compatible storage,
	// http(s)://host[:port]/bucket[/prefix]; empty keeps photos in
	// DATA/evidence (CAREHEX_EVIDENCE_DIR).
	S3URL, S3AccessKey, S3SecretKey, S3Region string
	Dir                                       string
	MaxPhotoBytes                             int64
	Fraud                                     carehex.FraudSettings
	// FraudEvery is how often each replica runs the (idempotent) scan of
	// the last FraudDays days.
	FraudEvery time.Duration
	FraudDays  int

	text map[string]string // the settings as given, parsed by validate
}

// The fraud settings' environment variables.
var fraudEnv = []string{"CAREHEX_FRAUD_SPEED_FACTOR", "CAREHEX_FRAUD_UNKNOWN_MODE_KMH", "CAREHEX_FRAUD_MIN_TRAVEL_M",
	"CAREHEX_FRAUD_REPEATED_GPS_VISITS", "CAREHEX_FRAUD_NO_MOVEMENT_M", "CAREHEX_FRAUD_HOMES_APART_M",
	"CAREHEX_FRAUD_CARER_DAY_CAP", "CAREHEX_FRAUD_RESIDENT_DAY_CAP", "CAREHEX_PHOTO_MAX_BYTES", "CAREHEX_FRAUD_EVERY"}

func defaultEvidenceConfig(getenv func(string) string) evidenceConfig {
	e := evidenceConfig{S3URL: getenv("CAREHEX_EVIDENCE_S3_URL"), S3AccessKey: getenv("CAREHEX_EVIDENCE_S3_ACCESS_KEY"),
		S3SecretKey: getenv("CAREHEX_EVIDENCE_S3_SECRET_KEY"), S3Region: getenv("CAREHEX_EVIDENCE_S3_REGION"),
		Dir: getenv("CAREHEX_EVIDENCE_DIR"), MaxPhotoBytes: 8 << 20, Fraud: carehex.DefaultFraudSettings(),
		FraudEvery: 10 * time.Minute, FraudDays: 3, text: map[string]string{}}
	for _, k := range fraudEnv {
		if v := getenv(k); v != "" {
			e.text[k] = v
		}
	}
	return e
}

// validate parses the settings, each failure naming its variable.
func (e *evidenceConfig) validate(dataDir string) error {
	float := func(key string, dst *float64) error {
		if v, ok := e.text[key]; ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return fmt.Errorf("%s %q must be a number", key, v)
			}
			*dst = f
		}
		return nil
	}
	dur := func(key string, dst *time.Duration) error {
		if v, ok := e.text[key]; ok {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%s %q must be a duration such as 8h", key, v)
			}
			*dst = d
		}
		return nil
	}
	f := &e.Fraud
	for _, err := range []error{
		float("CAREHEX_FRAUD_SPEED_FACTOR", &f.SpeedFactor), float("CAREHEX_FRAUD_UNKNOWN_MODE_KMH", &f.UnknownModeKmh),
		float("CAREHEX_FRAUD_MIN_TRAVEL_M", &f.MinTravelM), float("CAREHEX_FRAUD_NO_MOVEMENT_M", &f.NoMovementM),
		float("CAREHEX_FRAUD_HOMES_APART_M", &f.HomesApartM), dur("CAREHEX_FRAUD_CARER_DAY_CAP", &f.CarerDayCap),
		dur("CAREHEX_FRAUD_RESIDENT_DAY_CAP", &f.ResidentDayCap),
	} {
		if err != nil {
			return err
		}
	}
	if v, ok := e.text["CAREHEX_FRAUD_REPEATED_GPS_VISITS"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("CAREHEX_FRAUD_REPEATED_GPS_VISITS %q must be a whole number", v)
		}
		f.RepeatedGPSVisits = n
	}
	if err := dur("CAREHEX_FRAUD_EVERY", &e.FraudEvery); err != nil {
		return err
	}
	if e.FraudEvery < time.Second || e.FraudEvery > 24*time.Hour {
		return fmt.Errorf("CAREHEX_FRAUD_EVERY %v must be between 1s and 24h", e.FraudEvery)
	}
	if err := f.Validate(); err != nil {
		return fmt.Errorf("CAREHEX_FRAUD_*: %s", carehex.ErrorMessage(err))
	}
	if v, ok := e.text["CAREHEX_PHOTO_MAX_BYTES"]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 64<<10 || n > 64<<20 {
			return fmt.Errorf("CAREHEX_PHOTO_MAX_BYTES %q must be a number of bytes from 65536 to 67108864", v)
		}
		e.MaxPhotoBytes = n
	}
	if e.S3URL != "" {
		if _, _, _, _, err := evidence.ParseS3URL("CAREHEX_EVIDENCE_S3_URL", e.S3URL); err != nil {
			return fmt.Errorf("%s", carehex.ErrorMessage(err))
		}
		if e.S3AccessKey == "" || e.S3SecretKey == "" {
			return fmt.Errorf("CAREHEX_EVIDENCE_S3_URL needs CAREHEX_EVIDENCE_S3_ACCESS_KEY and CAREHEX_EVIDENCE_S3_SECRET_KEY")
		}
	}
	if e.Dir == "" {
		e.Dir = filepath.Join(dataDir, "evidence")
	}
	return nil
}

// blobs opens where photos go: the object store when configured (checked
// now, so a wrong bucket fails the start), else the directory.
func (e *evidenceConfig) blobs(ctx context.Context) (carehex.BlobStore, error) {
	if e.S3URL != "" {
		return evidence.NewS3(ctx, evidence.S3Config{URL: e.S3URL, AccessKey: e.S3AccessKey, SecretKey: e.S3SecretKey,
			Region: e.S3Region})
	}
	return evidence.NewFS(e.Dir)
}

// scanFraud judges the visits completed in [from, to) and reports the new
// flags on w (settle) or the log (serve).
func scanFraud(ctx context.Context, store *sqlstore.DB, s carehex.FraudSettings, from, to time.Time, w io.Writer) error {
	n, err := carehex.ScanFraud(ctx, store, from, to, s, settleZone)
	if err != nil {
		return err
	}
	if w != nil {
		fmt.Fprintf(w, "fraud signals: %d new flags for review (visits flagged are held back until cleared)\n", n)
	}
	return nil
}

// runFraud is the serve loop: every FraudEvery, the last FraudDays days
// are scanned; flags are idempotent, so replicas need not take turns.
func runFraud(ctx context.Context, store *sqlstore.DB, clock carehex.Clock, e evidenceConfig, log *slog.Logger) error {
	if e.FraudEvery <= 0 { // a Config not passed through defaultConfig (tests)
		e.FraudEvery, e.FraudDays, e.Fraud = 10*time.Minute, 3, carehex.DefaultFraudSettings()
	}
	t := time.NewTicker(e.FraudEvery)
	defer t.Stop()
	for {
		now := clock()
		n, err := carehex.ScanFraud(ctx, store, now.AddDate(0, 0, -e.FraudDays), now.Add(time.Minute), e.Fraud, settleZone)
		if err != nil && ctx.Err() == nil {
			log.Warn("fraud.scan", "err", err)
		} else if n > 0 {
			log.Info("fraud.flags", "new", n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// evidence opens the photo store named by cfg for the mobile API and the
// console, and keeps the fraud settings for Start's scan.
func (st *stack) evidence(cfg *Config) (*mobileapi.Evidence, error) {
	e := cfg.Evidence
	if e.Dir == "" && cfg.DataDir != "" {
		e.Dir = filepath.Join(cfg.DataDir, "evidence")
	}
	st.fraud = e
	if e.S3URL == "" && e.Dir == "" {
		return nil, nil // no place for photos: the upload answers 503
	}
	blobs, err := e.blobs(context.Background())
	if err != nil {
		return nil, err
	}
	st.Blobs = blobs
	return &mobileapi.Evidence{Records: st.Store, Blobs: blobs}, nil
}
