package discordfake

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// spec holds the routes of Discord's OpenAPI description (testdata/openapi.json,
// API v10) and the schema validator, when one is registered (package
// discordfake/schema, which tests import); the documented limits the spec
// leaves out are checked here, validator or not.
type spec struct {
	routes []route
	schema SchemaValidator
}

type route struct {
	template string
	re       *regexp.Regexp
	literals int // literal segments win over parameters
	methods  map[string]bool
}

// openapiJSON is Discord's spec (testdata/openapi.json, with its LICENSE),
// embedded so `intakebot demo` works from any directory.
//
//go:embed testdata/openapi.json
var openapiJSON []byte

// OpenAPI returns Discord's OpenAPI description the fake models (API v10),
// for a SchemaValidator to compile. The caller must not change it.
func OpenAPI() []byte { return openapiJSON }

// SchemaValidator checks a request body (decoded with numbers as
// json.Number) against the request schema Discord's spec gives method and
// template ("POST", "/channels/{channel_id}/messages").
type SchemaValidator interface {
	Validate(method, template string, body any) error
}

var (
	specOnce sync.Once
	specVal  *spec
	specErr  error

	schemaMu  sync.Mutex
	schemaVal SchemaValidator
)

// RegisterSchemaValidator makes the fakes created from now on validate every
// request body with v. Package discordfake/schema registers the JSON-schema
// validator when it is imported (tests import it for that side effect); the
// production binary, which starts a fake only for `intakebot demo`, does not
// link it, so no command pays for compiling JSON-schema meta-schemas at
// start-up. In a test binary, New refuses to start a fake without one.
func RegisterSchemaValidator(v SchemaValidator) {
	schemaMu.Lock()
	defer schemaMu.Unlock()
	schemaVal = v
}

func registeredSchema() SchemaValidator {
	schemaMu.Lock()
	defer schemaMu.Unlock()
	return schemaVal
}

func loadSpec() (*spec, error) {
	specOnce.Do(func() {
		var raw struct {
			Paths map[string]map[string]json.RawMessage `json:"paths"`
		}
		if err := json.Unmarshal(openapiJSON, &raw); err != nil {
			specErr = fmt.Errorf("discordfake: parse spec: %w", err)
			return
		}
		sp := &spec{}
		for tmpl, ops := range raw.Paths {
			r := route{template: tmpl, methods: map[string]bool{}}
			var pat strings.Builder
			pat.WriteString("^")
			for _, seg := range strings.Split(strings.Trim(tmpl, "/"), "/") {
				pat.WriteString("/")
				if strings.HasPrefix(seg, "{") {
					pat.WriteString(`[^/]+`)
				} else {
					pat.WriteString(regexp.QuoteMeta(seg))
					r.literals++
				}
			}
			pat.WriteString("$")
			r.re = regexp.MustCompile(pat.String())
			for m := range ops {
				r.methods[strings.ToUpper(m)] = true
			}
			sp.routes = append(sp.routes, r)
		}
		sort.Slice(sp.routes, func(i, j int) bool { return sp.routes[i].literals > sp.routes[j].literals })
		specVal = sp
	})
	if specErr != nil {
		return nil, specErr
	}
	// The routes are shared; the validator is the one registered now.
	sp := *specVal
	sp.schema = registeredSchema()
	return &sp, nil
}

// match finds the spec route for an API path ("/channels/1/messages"), with
// the /api/vN prefix and query already stripped.
func (sp *spec) match(method, path string) (string, bool) {
	for _, r := range sp.routes {
		if r.re.MatchString(path) && r.methods[method] {
			return r.template, true
		}
	}
	return "", false
}

// validate checks body against the request schema of method and template,
// when a schema validator is registered.
func (sp *spec) validate(method, template string, body any) error {
	if sp.schema == nil {
		return nil
	}
	if err := sp.schema.Validate(method, template, body); err != nil {
		return fmt.Errorf("%s %s: %v", method, template, firstLines(err.Error(), 6))
	}
	return nil
}

func firstLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return strings.Join(lines, "\n")
}

// coerce turns integer-valued strings into numbers where discordgo sends a
// string for an integer the spec declares (default_member_permissions), and
// decodes numbers the way the validator wants.
func coerce(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON value")
	}
	walk(v, func(m map[string]any) {
		if s, ok := m["default_member_permissions"].(string); ok {
			var n json.Number = json.Number(s)
			if _, err := n.Int64(); err == nil {
				m["default_member_permissions"] = n
			}
		}
	})
	return v, nil
}

func walk(v any, f func(map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		f(x)
		for _, e := range x {
			walk(e, f)
		}
	case []any:
		for _, e := range x {
			walk(e, f)
		}
	}
}

// Documented limits the spec is looser about.
const (
	maxContent      = 2000
	maxEmbedChars   = 6000
	maxActionRows   = 5
	maxButtonsInRow = 5
	flagEphemeral   = 1 << 6
)

// validCommandName is Discord's rule for command names,
// ^[-_'\p{L}\p{N}]{1,32}$, checked by hand: as a regexp, its 32 copies of
// the Unicode letter and digit classes cost 1.2 MB and several ms when the
// package initialises, in every command of the binary.
func validCommandName(name string) bool {
	n := 0
	for _, r := range name {
		if r != '-' && r != '_' && r != '\'' && !unicode.IsLetter(r) && !unicode.IsNumber(r) {
			return false
		}
		n++
	}
	return n >= 1 && n <= 32 && utf8.ValidString(name)
}

// limits checks a message-like body (content, components, embeds, flags).
// channelMessage is true for POST/PATCH /channels/{id}/messages, where the
// ephemeral flag is not allowed.
func limits(body map[string]any, channelMessage bool) []string {
	var out []string
	if c, ok := body["content"].(string); ok && utf8.RuneCountInString(c) > maxContent {
		out = append(out, fmt.Sprintf("content is %d characters; bots may send at most %d", utf8.RuneCountInString(c), maxContent))
	}
	if rows, ok := body["components"].([]any); ok {
		if len(rows) > maxActionRows {
			out = append(out, fmt.Sprintf("%d action rows; at most %d", len(rows), maxActionRows))
		}
		for i, r := range rows {
			row, _ := r.(map[string]any)
			comps, _ := row["components"].([]any)
			buttons, selects := 0, 0
			for _, c := range comps {
				cm, _ := c.(map[string]any)
				switch num(cm["type"]) {
				case 2:
					buttons++
				case 3, 5, 6, 7, 8:
					selects++
				}
				if id, ok := cm["custom_id"].(string); ok && utf8.RuneCountInString(id) > 100 {
					out = append(out, fmt.Sprintf("custom_id %q is longer than 100 characters", id))
				}
			}
			if buttons > maxButtonsInRow || (selects > 0 && (selects != 1 || buttons > 0)) {
				out = append(out, fmt.Sprintf("action row %d holds %d buttons and %d select menus; a row holds up to 5 buttons or exactly one select menu", i, buttons, selects))
			}
		}
	}
	if embeds, ok := body["embeds"].([]any); ok {
		if n := embedChars(embeds); n > maxEmbedChars {
			out = append(out, fmt.Sprintf("embeds hold %d characters; at most %d", n, maxEmbedChars))
		}
	}
	if channelMessage && int(num(body["flags"]))&flagEphemeral != 0 {
		out = append(out, "the EPHEMERAL flag is only for interaction responses and follow-ups")
	}
	return out
}

func embedChars(embeds []any) int {
	n := 0
	for _, e := range embeds {
		em, _ := e.(map[string]any)
		for _, k := range []string{"title", "description"} {
			if s, ok := em[k].(string); ok {
				n += utf8.RuneCountInString(s)
			}
		}
		if fields, ok := em["fields"].([]any); ok {
			for _, f := range fields {
				fm, _ := f.(map[string]any)
				for _, k := range []string{"name", "value"} {
					if s, ok := fm[k].(string); ok {
						n += utf8.RuneCountInString(s)
					}
				}
			}
		}
		for _, k := range []string{"footer", "author"} {
			if m, ok := em[k].(map[string]any); ok {
				for _, kk := range []string{"text", "name"} {
					if s, ok := m[kk].(string); ok {
						n += utf8.RuneCountInString(s)
					}
				}
			}
		}
	}
	return n
}

// commandLimits checks application command definitions.
func commandLimits(cmds []any) []string {
	var out []string
	for _, c := range cmds {
		cm, _ := c.(map[string]any)
		name, _ := cm["name"].(string)
		if !validCommandName(name) || strings.ToLower(name) != name {
			out = append(out, fmt.Sprintf("command name %q: lowercase, 1-32 of letters, digits, - _ '", name))
		}
		desc, _ := cm["description"].(string)
		if n := utf8.RuneCountInString(desc); n < 1 || n > 100 {
			out = append(out, fmt.Sprintf("command %q description is %d characters; 1 to 100", name, n))
		}
		if opts, ok := cm["options"].([]any); ok {
			out = append(out, commandLimits(opts)...)
		}
	}
	return out
}

func num(v any) float64 {
	switch x := v.(type) {
	case json.Number:
		f, _ := x.Float64()
		return f
	case float64:
		return x
	case int:
		return float64(x)
	}
	return 0
}
