package carehex

import (
	"context"
	"time"
)

// Category is one of the six groups of the 12349 service catalogue.
type Category string

const (
	CategoryInformation Category = "information"  // 信息咨询
	CategoryDailyLife   Category = "daily_life"   // 生活照料
	CategoryHealth      Category = "health"       // 医疗保健
	CategoryHousekeep   Category = "housekeeping" // 家政维修
	CategoryEducation   Category = "education"    // 教育培训
	CategoryEmergency   Category = "emergency"    // 紧急救助
)

// Categories lists the six categories in catalogue order.
var Categories = []Category{CategoryInformation, CategoryDailyLife, CategoryHealth, CategoryHousekeep, CategoryEducation, CategoryEmergency}

// UrgencyClass says how fast and how widely a service type is dispatched.
type UrgencyClass string

const (
	ClassEmergency UrgencyClass = "emergency" // dispatch at once, to several providers, widely
	ClassSoon      UrgencyClass = "soon"      // today, as soon as someone is free
	ClassScheduled UrgencyClass = "scheduled" // booked for a time window
)

// ServiceType is one entry of the catalogue. Code is stable forever; a
// provider's skills hold the same strings as RequiredSkill.
type ServiceType struct {
	Code            string
	Category        Category
	NameZH          string
	NameEN          string
	RequiredSkill   string
	DefaultDuration time.Duration
	UrgencyClass    UrgencyClass
}

// Catalog reads the service catalogue.
type Catalog interface {
	ServiceTypes(ctx context.Context) ([]*ServiceType, error)
	ServiceType(ctx context.Context, code string) (*ServiceType, error)
}
