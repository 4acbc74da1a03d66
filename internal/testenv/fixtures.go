package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/carehex/carehex"
)

// The fixtures every package's tests share, kept here so they cannot drift
// apart (they had: bathing was a different urgency class in two copies).

// Zibo is the centre of Zhangdian district, Zibo: the test resident's home.
var Zibo = carehex.LatLng{Lat: 36.80, Lng: 118.05}

// At returns the point north and east metres from p, on a sphere of the
// Earth's mean radius; a few kilometres from p it is accurate to centimetres.
func At(p carehex.LatLng, north, east float64) carehex.LatLng {
	const r = 6371007.180918475
	return carehex.LatLng{
		Lat: p.Lat + north/r*180/math.Pi,
		Lng: p.Lng + east/(r*math.Cos(p.Lat*math.Pi/180))*180/math.Pi,
	}
}

// Operator is the hotline operator the tests act as.
var Operator = carehex.Principal{Kind: carehex.KindUser, Subject: "usr_op1", Role: carehex.RoleOperator, Name: "op"}

// OpCtx is a context carrying Operator.
func OpCtx() context.Context { return carehex.WithPrincipal(context.Background(), Operator) }

// Catalog is the tests' small catalogue: one everyday, one planned and one
// emergency service under short codes and skills the tests name. Where a
// type has a counterpart in the real catalogue (catalog/services.csv), its
// category, urgency class and duration are the real ones (TestCatalogMatches
// checks this): bathing is DL-BATH-HOME, fall_help EM-FALL-RESPONSE's class.
// meal_delivery is deliberately "soon" (the real DL-MEAL-DELIVERY is
// scheduled) so the engine's tests have an everyday type it dispatches at
// once. A fresh slice each call: a test may edit its copy.
func Catalog() []*carehex.ServiceType {
	return []*carehex.ServiceType{
		{Code: "meal_delivery", Category: carehex.CategoryDailyLife, NameZH: "送餐", NameEN: "Meal delivery",
			RequiredSkill: "meals", DefaultDuration: 30 * time.Minute, UrgencyClass: carehex.ClassSoon},
		{Code: "bathing", Category: carehex.CategoryDailyLife, NameZH: "助浴", NameEN: "Bathing",
			RequiredSkill: "bathing", DefaultDuration: time.Hour, UrgencyClass: carehex.ClassScheduled},
		{Code: "fall_help", Category: carehex.CategoryEmergency, NameZH: "跌倒救助", NameEN: "Help after a fall",
			RequiredSkill: "first_aid", DefaultDuration: 45 * time.Minute, UrgencyClass: carehex.ClassEmergency},
	}
}

// UniqueZone returns a fresh zone name starting with prefix, so tests
// sharing one Redis never see each other's keys.
func UniqueZone(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// SQLitePath returns the path of a new SQLite database file in the test's
// temporary directory (sqlstore.Open creates it).
func SQLitePath(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "carehex.db")
}
