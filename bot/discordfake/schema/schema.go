// Package schema validates the fake Discord's request bodies against the
// request schemas of Discord's OpenAPI spec (discordfake.OpenAPI), with
// santhosh-tekuri/jsonschema. Importing it registers the validator with
// bot/discordfake:
//
//	import _ "github.com/intakebot/intakebot/bot/discordfake/schema"
//
// Only tests import it (a fake in a test binary refuses to run without it),
// so the intakebot binary, which links the fake for `intakebot demo`, never
// links jsonschema or pays for its package initialisation at start-up.
package schema

import (
	"bytes"
	"fmt"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/intakebot/intakebot/bot/discordfake"
)

func init() { discordfake.RegisterSchemaValidator(&validator{}) }

// validator compiles the spec on first use and each route's request schema
// the first time that route is validated.
type validator struct {
	once     sync.Once
	compiler *jsonschema.Compiler
	err      error
	mu       sync.Mutex
	schemas  map[string]*jsonschema.Schema
}

func (v *validator) load() error {
	v.once.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(discordfake.OpenAPI()))
		if err != nil {
			v.err = fmt.Errorf("parse spec: %w", err)
			return
		}
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		if err := c.AddResource("openapi.json", doc); err != nil {
			v.err = fmt.Errorf("load spec: %w", err)
			return
		}
		v.compiler, v.schemas = c, map[string]*jsonschema.Schema{}
	})
	return v.err
}

func pointerEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// Validate implements discordfake.SchemaValidator.
func (v *validator) Validate(method, template string, body any) error {
	if err := v.load(); err != nil {
		return err
	}
	key := method + " " + template
	v.mu.Lock()
	sch, ok := v.schemas[key]
	if !ok {
		loc := "openapi.json#/paths/" + pointerEscape(template) + "/" + strings.ToLower(method) + "/requestBody/content/application~1json/schema"
		var err error
		sch, err = v.compiler.Compile(loc)
		if err != nil {
			v.mu.Unlock()
			return fmt.Errorf("no request schema for %s: %v", key, err)
		}
		v.schemas[key] = sch
	}
	v.mu.Unlock()
	if err := sch.Validate(body); err != nil {
		return fmt.Errorf("body does not match the spec: %v", err)
	}
	return nil
}
