package mobileclient

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// PlannedVisit is one of the provider's rostered planned visits
// (GET /m/v1/planned).
type PlannedVisit struct {
	PlannedVisitID  string    `json:"planned_visit_id"`
	VisitID         string    `json:"visit_id"`
	RequestID       string    `json:"request_id"`
	ServiceCode     string    `json:"service_code"`
	WindowStartTime time.Time `json:"window_start_time"`
	WindowEndTime   time.Time `json:"window_end_time"`
	DurationS       int64     `json:"duration_s"`
	RequestStatus   string    `json:"request_status"`
	ResidentName    string    `json:"resident_name"`
}

// Planned returns the provider's rostered planned visits from date (zero:
// today) for days days (1…7).
func (c *Client) Planned(ctx context.Context, date time.Time, days int) ([]PlannedVisit, error) {
	path := fmt.Sprintf("/m/v1/planned?days=%d", days)
	if !date.IsZero() {
		path += "&date=" + date.Format(time.DateOnly)
	}
	var out struct {
		Visits []PlannedVisit `json:"visits"`
	}
	if err := c.do(ctx, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	return out.Visits, nil
}
