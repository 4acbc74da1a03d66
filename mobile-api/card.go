package mobileapi

import (
	"context"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/carehex/carehex"
)

// Service-card scans (carehex card.go): where the contract requires it,
// the carer's phone reads the elder's card at arrival and at completion and
// sends what it read; the server checks the signature and that the card is
// the visit's resident's. Every scan is recorded, a refused one too, and a
// refusal is answered with the reason.

// cardKeys holds the district's card key: Deps.Cards, or the one kept in
// the database, read on first use.
type cardKeys struct {
	mu  sync.Mutex
	key *carehex.CardKey
}

func (s *Server) cardKey(ctx context.Context) (*carehex.CardKey, error) {
	s.cards.mu.Lock()
	defer s.cards.mu.Unlock()
	if s.cards.key == nil {
		k, err := carehex.LoadCardKey(ctx, "", s.store)
		if err != nil {
			return nil, err
		}
		s.cards.key = k
	}
	return s.cards.key, nil
}

type cardIn struct {
	Stage string `json:"stage"`
	QR    string `json:"qr"`
	Code  string `json:"code"`
}

type cardScanOut struct {
	ID     string `json:"id"`
	Stage  string `json:"stage"`
	Method string `json:"method"`
	Result string `json:"result"`
	Time   string `json:"time"`
}

// cardScan: POST /m/v1/visits/{id}/card with {"stage":"arrive","qr":"…"}
// or {"stage":"arrive","code":"7K3M-X2QD"}.
func (s *Server) cardScan(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var in cardIn
	if err := s.decode(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	scan := &carehex.CardScan{VisitID: id, ProviderID: subject(r), Stage: carehex.VisitEventType(in.Stage),
		Method: carehex.CardByQR}
	text := in.QR
	if in.QR == "" {
		scan.Method, text = carehex.CardByCode, in.Code
	}
	switch {
	case in.QR != "" && in.Code != "":
		s.fail(w, r, carehex.Errorf(carehex.EINVALID, "card", "send the QR's text or the typed code, not both"))
		return
	case text == "":
		s.fail(w, r, carehex.Required("card"))
		return
	case len(text) > 512 || !utf8.ValidString(text):
		s.fail(w, r, carehex.CardRefusal(carehex.CardUnreadable))
		return
	}
	if err := scan.Validate(); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	v, err := s.store.Visit(ctx, id)
	if err == nil && v.ProviderID != scan.ProviderID {
		err = carehex.Errorf(carehex.ENOTFOUND, "id", "no visit %q", id)
	}
	if err == nil && v.Status == carehex.StatusCancelled {
		err = carehex.Errorf(carehex.ECONFLICT, "id", "the visit is cancelled").With(carehex.MsgJobGone)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req, err := s.store.ServiceRequest(ctx, v.RequestID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	key, err := s.cardKey(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	scan.ResidentID = req.ResidentID
	scan.Result = key.Check(req.ResidentID, scan.Method, text)
	if err := s.store.RecordCardScan(ctx, scan); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := carehex.CardRefusal(scan.Result); err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusCreated, map[string]any{"scan": cardScanOut{ID: scan.ID, Stage: string(scan.Stage),
		Method: string(scan.Method), Result: scan.Result, Time: scan.Time.UTC().Format(time.RFC3339Nano)}})
}
