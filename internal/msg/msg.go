// Package msg renders carehex.Message values in Chinese or English on the
// server, for the callers that read words from it rather than from a page:
// Twirp errors answered by Accept-Language. The words are the pages' own
// catalogue (web/static/messages.js, embedded by package web), so the
// console and the server never say different things; service, skill and
// category names come from the service catalogue (package catalog).
package msg

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/catalog"
	"github.com/carehex/carehex/web"
)

// Languages a message is rendered in.
const (
	ZH = "zh"
	EN = "en"
)

type pair [2]string // zh, en

// Catalogue is the parsed messages.js.
type Catalogue struct {
	Messages      map[string]pair `json:"messages"`
	Reasons       map[string]pair `json:"reasons"`
	Fields        map[string]pair `json:"fields"`
	Roles         map[string]pair `json:"roles"`
	Statuses      map[string]pair `json:"statuses"`
	FallbackField pair            `json:"fallback_field"`

	names map[string]pair // service codes, skills and categories, from package catalog
}

// Parse reads a catalogue in messages.js's form: "export default" followed
// by one JSON object.
func Parse(js []byte) (*Catalogue, error) {
	at := bytes.LastIndex(js, []byte("export default"))
	if at < 0 {
		return nil, fmt.Errorf("msg: the catalogue has no \"export default\"")
	}
	body := bytes.TrimSpace(js[at+len("export default"):])
	body = bytes.TrimSuffix(body, []byte(";"))
	var c Catalogue
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, fmt.Errorf("msg: the catalogue after \"export default\" is not JSON: %w", err)
	}
	c.names = map[string]pair{}
	types, err := catalog.Load()
	if err != nil {
		return nil, err
	}
	for _, t := range types {
		c.names["service:"+t.Code] = pair{t.NameZH, t.NameEN}
	}
	for _, s := range append(catalog.SkillNames(), catalog.CategoryNames()...) {
		c.names["skill:"+s.Code] = pair{s.NameZH, s.NameEN}
	}
	return &c, nil
}

// Default is the catalogue built into the binary.
var Default = func() *Catalogue {
	c, err := Parse(web.Messages())
	if err != nil {
		panic(err) // the embedded file is checked by this package's tests
	}
	return c
}()

// Lang picks zh or en from an Accept-Language header: the first language
// tag (by quality, then order) that is Chinese or English; "" when none is,
// and the caller keeps its default (English for API users).
func Lang(acceptLanguage string) string {
	best, bestQ := "", -1.0
	for _, part := range strings.Split(acceptLanguage, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if (base == ZH || base == EN) && q > bestQ && q > 0 {
			best, bestQ = base, q
		}
	}
	return best
}

// Has reports whether code has words in both languages.
func (c *Catalogue) Has(code string) bool {
	p, ok := c.Messages[code]
	return ok && p[0] != "" && p[1] != ""
}

// Render says m in lang (zh or en; anything else is English). An unknown
// code renders as the code itself, so a gap shows rather than vanishes (a
// test keeps the catalogue complete).
func (c *Catalogue) Render(lang string, m carehex.Message) string {
	i := 1
	if lang == ZH {
		i = 0
	}
	p, ok := c.Messages[m.Code]
	if !ok {
		return m.Code
	}
	tpl := p[i]
	var b strings.Builder
	for {
		open := strings.IndexByte(tpl, '{')
		if open < 0 {
			break
		}
		end := strings.IndexByte(tpl[open:], '}')
		if end < 0 {
			break
		}
		name := tpl[open+1 : open+end]
		b.WriteString(tpl[:open])
		b.WriteString(c.param(i, name, m.Params[name]))
		tpl = tpl[open+end+1:]
	}
	b.WriteString(tpl)
	return b.String()
}

// param renders one parameter value by its name (see carehex.Message).
func (c *Catalogue) param(i int, name, v string) string {
	look := func(m map[string]pair, k string) (string, bool) {
		if p, ok := m[k]; ok {
			return p[i], true
		}
		return "", false
	}
	switch {
	case name == "field":
		return c.field(i, v)
	case name == "role":
		if s, ok := look(c.Roles, v); ok {
			return s
		}
	case name == "from" || name == "to" || name == "status":
		if s, ok := look(c.Statuses, v); ok {
			return s
		}
	case name == "reason":
		if s, ok := look(c.Reasons, v); ok {
			return s
		}
	case name == "service_code":
		if s, ok := look(c.names, "service:"+v); ok {
			return s
		}
	case name == "skill":
		if s, ok := look(c.names, "skill:"+v); ok {
			return s
		}
	case strings.HasSuffix(name, "_s"):
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			return duration(i, n)
		}
	case name == "radius_m" || name == "distance_m":
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			return metres(i, n)
		}
	case strings.HasSuffix(name, "_time"):
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t.In(china).Format("01-02 15:04")
		}
	}
	return v
}

// china is the hotline's time zone (UTC+8, no daylight saving).
var china = time.FixedZone("CST", 8*3600)

// field names a request field in words: the whole path, then without list
// indices, then its last part; otherwise "this field".
func (c *Catalogue) field(i int, f string) string {
	plain := f
	for {
		open := strings.IndexByte(plain, '[')
		end := strings.IndexByte(plain, ']')
		if open < 0 || end < open {
			break
		}
		plain = plain[:open] + plain[end+1:]
	}
	last := plain
	if dot := strings.LastIndexByte(plain, '.'); dot >= 0 {
		last = plain[dot+1:]
	}
	for _, k := range []string{f, plain, last} {
		if p, ok := c.Fields[k]; ok {
			return p[i]
		}
	}
	return c.FallbackField[i]
}

func duration(i int, s float64) string {
	n := int64(math.Round(s))
	unit := [3][2]string{{"秒", "s"}, {"分钟", "min"}, {"小时", "h"}}
	switch {
	case n < 60:
		return fmt.Sprintf("%d %s", n, unit[0][i])
	case n < 3600 || n%3600 != 0 && n < 2*3600:
		return fmt.Sprintf("%d %s", (n+30)/60, unit[1][i])
	default:
		return fmt.Sprintf("%d %s", (n+1800)/3600, unit[2][i])
	}
}

func metres(i int, m float64) string {
	if m < 1000 {
		return fmt.Sprintf("%d %s", int64(math.Round(m)), [2]string{"米", "m"}[i])
	}
	return strconv.FormatFloat(math.Round(m/100)/10, 'f', -1, 64) + " " + [2]string{"公里", "km"}[i]
}
