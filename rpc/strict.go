package rpc

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/carehex/carehex"
	"github.com/twitchtv/twirp"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// errMalformed marks a body that is not a message at all (not JSON, not an
// object, not protobuf): Twirp's spec answers it "malformed", while a message
// with a wrong value in a field is "invalid_argument" naming the field.
type errMalformed struct{ msg string }

func (e *errMalformed) Error() string { return e.msg }

// jsonObject reports whether body is one syntactically valid JSON object,
// which protojson can then only refuse for the values inside it.
func jsonObject(body []byte) bool {
	trimmed := bytes.TrimSpace(body)
	return len(trimmed) > 0 && trimmed[0] == '{' && json.Valid(trimmed)
}

// checkEnums finds enum values given by a name the enum does not have.
// Twirp decodes JSON with DiscardUnknown, which drops such a value silently
// and leaves the field unspecified: a status filter with a typo then means
// "every status", a gender typo is stored as "unspecified". Unknown fields
// stay ignored (clients may be newer than the server); unknown enum names
// are refused naming the field, its path in proto names (e.g. "statuses",
// "preferences.preferred_provider_gender").
func checkEnums(body []byte, md protoreflect.MessageDescriptor) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil // protojson already accepted it; nothing more to say
	}
	return enumsIn(v, md, "", 0)
}

// maxEnumDepth bounds the walk; protojson already refused deeper nesting.
const maxEnumDepth = 100

func enumsIn(v any, md protoreflect.MessageDescriptor, prefix string, depth int) error {
	obj, ok := v.(map[string]any)
	if !ok || depth > maxEnumDepth || isWellKnown(md) {
		return nil
	}
	fields := md.Fields()
	for key, val := range obj {
		fd := fields.ByJSONName(key)
		if fd == nil {
			fd = fields.ByName(protoreflect.Name(key))
		}
		if fd == nil || fd.IsMap() {
			continue
		}
		path := prefix + string(fd.Name())
		var items []any
		if list, ok := val.([]any); ok && fd.IsList() {
			items = list
		} else {
			items = []any{val}
		}
		for _, item := range items {
			switch fd.Kind() {
			case protoreflect.EnumKind:
				if err := enumValue(item, fd.Enum(), path); err != nil {
					return err
				}
			case protoreflect.MessageKind, protoreflect.GroupKind:
				if err := enumsIn(item, fd.Message(), path+".", depth+1); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func enumValue(v any, ed protoreflect.EnumDescriptor, path string) error {
	switch x := v.(type) {
	case string:
		if ed.Values().ByName(protoreflect.Name(x)) == nil {
			return carehex.Errorf(carehex.EINVALID, path, "%s: %q is not one of %s", path, x, enumNames(ed))
		}
	case json.Number:
		// Numbers the enum does not define are refused by the services
		// where they matter (proto3 enums are open); only names are checked
		// here, but a fraction is never an enum.
		if f, err := x.Float64(); err == nil && f != math.Trunc(f) {
			return carehex.Errorf(carehex.EINVALID, path, "%s: %s is not an enum value", path, x)
		}
	}
	return nil
}

func enumNames(ed protoreflect.EnumDescriptor) string {
	vals := ed.Values()
	names := make([]string, 0, vals.Len())
	for i := range vals.Len() {
		names = append(names, string(vals.Get(i).Name()))
	}
	return strings.Join(names, ", ")
}

// isWellKnown reports the google.protobuf types whose JSON form is not an
// object of their fields (Timestamp is a string, Struct any object).
func isWellKnown(md protoreflect.MessageDescriptor) bool {
	return strings.HasPrefix(string(md.FullName()), "google.protobuf.")
}

// badRoute answers a path under /twirp/ that names no service of ours the
// way Twirp answers an unknown method of a known service: a bad_route JSON
// error, which Twirp clients read, instead of net/http's plain-text 404,
// which they report as "internal".
func badRoute(tel *telemetry) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		te := twirp.NewError(twirp.BadRoute, "no such Twirp service or method").WithMeta("twirp_invalid_route", r.Method+" "+r.URL.Path)
		if err := twirp.WriteError(w, te); err != nil {
			tel.log.Warn("rpc.write_error", "err", err)
		}
		tel.observe(r.Context(), "unknown", strconv.Itoa(twirp.ServerHTTPStatusFromErrorCode(te.Code())), time.Since(start))
	})
}
