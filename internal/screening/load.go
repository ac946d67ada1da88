package screening

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"regexp"
	"strings"

	"github.com/expr-lang/expr"
	exprast "github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"

	"github.com/intakebot/intakebot/internal/content"
	"github.com/intakebot/intakebot/internal/intake"
)

type scriptFile struct {
	Title       string               `yaml:"title"`
	OptionSets  map[string][]*Option `yaml:"option_sets"`
	Questions   []*Question          `yaml:"questions"`
	Instruments []*Instrument        `yaml:"instruments"`
	Outcomes    []*OutcomeRule       `yaml:"outcomes"`
	Flags       []*FlagRule          `yaml:"flags"`
	CaseFields  CaseFields           `yaml:"case_fields"`
}

var idPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Names the condition language reserves; questions and instruments may not use them.
var reserved = map[string]bool{
	"score": true, "band": true, "positive": true, "value": true,
	"crisis_language": true, "true": true, "false": true, "nil": true,
	"in": true, "not": true, "and": true, "or": true, "matches": true,
}

// Load reads and validates the script name in fsys. The error, when not nil,
// is a content.Problems listing every problem with file:line.
func Load(fsys fs.FS, name string) (*Script, error) {
	src, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, content.Problems{{File: name, Msg: fmt.Sprintf("cannot read: %v", err)}}
	}
	return Parse(name, src)
}

// Parse validates a script from its source; name is used in problems.
func Parse(name string, src []byte) (*Script, error) {
	var f scriptFile
	doc, err := content.Decode(name, src, &f)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(src)
	s := &Script{
		File:        name,
		Version:     hex.EncodeToString(sum[:])[:12],
		Title:       f.Title,
		Questions:   f.Questions,
		Instruments: f.Instruments,
		Outcomes:    f.Outcomes,
		Flags:       f.Flags,
		CaseFields:  f.CaseFields,
		byID:        map[string]*Question{},
		index:       map[string]int{},
		instBy:      map[string]*Instrument{},
	}
	v := &validator{doc: doc, s: s, sets: f.OptionSets}
	v.run()
	if len(v.problems) > 0 {
		return nil, v.problems.Sorted()
	}
	return s, nil
}

type validator struct {
	doc      *content.Doc
	s        *Script
	sets     map[string][]*Option
	problems content.Problems
	env      map[string]any
}

func (v *validator) add(path, format string, args ...any) {
	v.problems = append(v.problems, v.doc.Problem(path, format, args...))
}

func (v *validator) run() {
	if len(v.s.Questions) == 0 {
		v.add("$", "the script has no questions")
		return
	}
	v.questions()
	v.instruments()
	cf := v.s.CaseFields
	for _, f := range []struct{ key, id string }{
		{"contact_method", cf.ContactMethod}, {"contact_detail", cf.ContactDetail},
		{"best_time", cf.BestTime}, {"notes", cf.Notes},
	} {
		if f.id != "" && v.s.byID[f.id] == nil {
			v.add("$.case_fields."+f.key, "case_fields.%s names unknown question %q", f.key, f.id)
		}
	}
	for i, id := range cf.Answers {
		if v.s.byID[id] == nil {
			v.add(fmt.Sprintf("$.case_fields.answers[%d]", i), "case_fields.answers names unknown question %q", id)
		}
	}
	if len(v.problems) > 0 {
		// Conditions are checked against the ids above; with those broken,
		// every condition would report noise.
		return
	}
	v.env = v.s.compileEnv()
	for i, q := range v.s.Questions {
		if q.When != "" {
			q.when = v.compile(fmt.Sprintf("$.questions[%d].when", i), q.When, i)
		}
	}
	for i, in := range v.s.Instruments {
		for j, b := range in.Bands {
			if b.When != "" {
				b.when = v.compile(fmt.Sprintf("$.instruments[%d].bands[%d].when", i, j), b.When, -1)
			}
		}
	}
	v.outcomes()
	for i, fl := range v.s.Flags {
		path := fmt.Sprintf("$.flags[%d]", i)
		switch {
		case !idPattern.MatchString(fl.ID):
			v.add(path+".id", "flag id %q must be lowercase letters, digits and underscores", fl.ID)
		case v.s.flagSeen(fl.ID, i):
			v.add(path+".id", "duplicate flag id %q", fl.ID)
		}
		if fl.Label == "" {
			v.add(path, "flag %q has no label (staff see the label)", fl.ID)
		}
		if fl.When == "" {
			v.add(path, "flag %q has no when condition", fl.ID)
		} else {
			fl.when = v.compile(path+".when", fl.When, -1)
		}
	}
	if len(v.problems) == 0 {
		for _, id := range unreachable(v.s) {
			i := v.s.index[id]
			v.add(fmt.Sprintf("$.questions[%d].when", i), "question %q can never be asked: no sequence of answers makes its condition true", id)
		}
	}
}

func (s *Script) flagSeen(id string, before int) bool {
	for _, f := range s.Flags[:before] {
		if f.ID == id {
			return true
		}
	}
	return false
}

func (v *validator) questions() {
	for i, q := range v.s.Questions {
		path := fmt.Sprintf("$.questions[%d]", i)
		q.line = v.doc.Line(path)
		switch {
		case q.ID == "":
			v.add(path, "question has no id")
			continue
		case !idPattern.MatchString(q.ID):
			v.add(path+".id", "question id %q must be lowercase letters, digits and underscores", q.ID)
		case reserved[q.ID]:
			v.add(path+".id", "question id %q is a reserved word in conditions", q.ID)
		}
		if _, dup := v.s.byID[q.ID]; dup {
			v.add(path+".id", "duplicate question id %q (first at line %d)", q.ID, v.s.byID[q.ID].line)
			continue
		}
		v.s.byID[q.ID] = q
		v.s.index[q.ID] = i
		if strings.TrimSpace(q.Text) == "" {
			v.add(path, "question %q has no text", q.ID)
		}
		if q.OptionSet != "" {
			if len(q.Options) > 0 {
				v.add(path+".option_set", "question %q has both options and option_set; use one", q.ID)
			}
			set, ok := v.sets[q.OptionSet]
			if !ok {
				v.add(path+".option_set", "question %q uses unknown option_set %q", q.ID, q.OptionSet)
			}
			q.Options = set
		}
		switch q.Kind {
		case KindYesNo:
			if len(q.Options) == 0 {
				yes, no := 1.0, 0.0
				q.Options = []*Option{{ID: "yes", Label: "Yes", Value: &yes}, {ID: "no", Label: "No", Value: &no}}
			} else if len(q.Options) != 2 || q.Option("yes") == nil || q.Option("no") == nil {
				v.add(path+".options", "yes_no question %q must have exactly the options yes and no (or none, for the default)", q.ID)
			}
		case KindSingle, KindMultiple:
			if len(q.Options) < 2 {
				v.add(path, "%s question %q needs at least two options", q.Kind, q.ID)
			}
		case KindNumber:
			if q.Min != nil && q.Max != nil && *q.Min > *q.Max {
				v.add(path+".min", "question %q has min above max", q.ID)
			}
		case KindText:
			switch q.Validate {
			case "", ValidatePhone, ValidateEmail, ValidatePhoneOrEmail:
			default:
				v.add(path+".validate", "question %q: unknown validator %q (use phone, email or phone_or_email)", q.ID, q.Validate)
			}
		case "":
			v.add(path, "question %q has no kind (yes_no, single, multiple, number or text)", q.ID)
		default:
			v.add(path+".kind", "question %q has unknown kind %q (yes_no, single, multiple, number or text)", q.ID, q.Kind)
		}
		if !q.HasChoices() && len(q.Options) > 0 {
			v.add(path+".options", "%s question %q cannot have options", q.Kind, q.ID)
		}
		seen := map[string]bool{}
		for j, o := range q.Options {
			opath := fmt.Sprintf("%s.options[%d]", path, j)
			if q.OptionSet != "" {
				opath = "$.option_sets." + q.OptionSet
			}
			switch {
			case o.ID == "":
				v.add(opath, "an option of question %q has no id", q.ID)
			case !idPattern.MatchString(o.ID):
				v.add(opath+".id", "option id %q of question %q must be lowercase letters, digits and underscores", o.ID, q.ID)
			case o.ID == "skip":
				v.add(opath+".id", "option id \"skip\" is reserved for skipping optional questions")
			case seen[o.ID]:
				v.add(opath+".id", "duplicate option id %q in question %q", o.ID, q.ID)
			}
			seen[o.ID] = true
			if o.Label == "" {
				v.add(opath, "option %q of question %q has no label", o.ID, q.ID)
			}
			if o.Exclusive && q.Kind != KindMultiple {
				v.add(opath, "option %q of question %q: exclusive only applies to multiple-choice questions", o.ID, q.ID)
			}
		}
	}
}

func (v *validator) instruments() {
	for i, in := range v.s.Instruments {
		path := fmt.Sprintf("$.instruments[%d]", i)
		switch {
		case !idPattern.MatchString(in.ID):
			v.add(path+".id", "instrument id %q must be lowercase letters, digits and underscores", in.ID)
			continue
		case reserved[in.ID]:
			v.add(path+".id", "instrument id %q is a reserved word", in.ID)
		case v.s.instBy[in.ID] != nil:
			v.add(path+".id", "duplicate instrument id %q", in.ID)
			continue
		}
		v.s.instBy[in.ID] = in
		if in.Method != MethodSum && in.Method != MethodCountYes {
			v.add(path+".method", "instrument %q has method %q; use sum or count_yes", in.ID, in.Method)
		}
		if len(in.Items) == 0 {
			v.add(path, "instrument %q has no items", in.ID)
		}
		for j, id := range in.Items {
			q := v.s.byID[id]
			ipath := fmt.Sprintf("%s.items[%d]", path, j)
			switch {
			case q == nil:
				v.add(ipath, "instrument %q names unknown question %q", in.ID, id)
			case in.Method == MethodCountYes && q.Kind != KindYesNo:
				v.add(ipath, "instrument %q counts yes answers but %q is not a yes_no question", in.ID, id)
			case in.Method == MethodSum:
				for _, o := range q.Options {
					if o.Value == nil {
						v.add(ipath, "instrument %q sums %q but its option %q has no value", in.ID, id, o.ID)
					}
				}
				if q.Kind != KindSingle && q.Kind != KindYesNo {
					v.add(ipath, "instrument %q sums %q, which is not a single-choice or yes_no question", in.ID, id)
				}
			}
		}
		for j, id := range in.Items {
			if q := v.s.byID[id]; q != nil && in.Stem != "" && strings.TrimSpace(q.Preface) == strings.TrimSpace(in.Stem) {
				v.add(fmt.Sprintf("%s.items[%d]", path, j), "question %q repeats the instrument's stem as its preface; the stem is already shown with every item", id)
			}
		}
		if in.Gate != "" && v.s.byID[in.Gate] == nil {
			v.add(path+".gate", "instrument %q names unknown gate question %q", in.ID, in.Gate)
		}
		if len(in.Bands) == 0 {
			v.add(path, "instrument %q has no bands", in.ID)
		}
		seen := map[string]bool{}
		for j, b := range in.Bands {
			bpath := fmt.Sprintf("%s.bands[%d]", path, j)
			if !idPattern.MatchString(b.ID) {
				v.add(bpath, "band id %q of instrument %q must be lowercase letters, digits and underscores", b.ID, in.ID)
			}
			if seen[b.ID] && b.When == "" {
				v.add(bpath, "duplicate band %q in instrument %q", b.ID, in.ID)
			}
			seen[b.ID] = true
			if b.Min != nil && b.Max != nil && *b.Min > *b.Max {
				v.add(bpath, "band %q of instrument %q has min above max", b.ID, in.ID)
			}
		}
		if len(v.problems) == 0 {
			v.checkBandCoverage(path, in)
		}
	}
}

// checkBandCoverage makes sure every possible score falls in a band, so a
// patient's result is never unlabelled.
func (v *validator) checkBandCoverage(path string, in *Instrument) {
	lo, hi := in.scoreRange(v.s)
	for x := lo; x <= hi; x++ {
		hit := false
		for _, b := range in.Bands {
			if b.When == "" && b.contains(x) {
				hit = true
				break
			}
		}
		if !hit {
			v.add(path+".bands", "instrument %q: score %d falls in no band (bands without a when must cover %d-%d)", in.ID, x, lo, hi)
			return
		}
	}
}

func (b *Band) contains(x int) bool {
	return (b.Min == nil || x >= *b.Min) && (b.Max == nil || x <= *b.Max)
}

func (in *Instrument) scoreRange(s *Script) (lo, hi int) {
	for _, id := range in.Items {
		q := s.byID[id]
		if q == nil {
			continue
		}
		if in.Method == MethodCountYes {
			hi++
			continue
		}
		mn, mx := 0.0, 0.0
		for i, o := range q.Options {
			if o.Value == nil {
				continue
			}
			if i == 0 || *o.Value < mn {
				mn = *o.Value
			}
			if i == 0 || *o.Value > mx {
				mx = *o.Value
			}
		}
		lo += int(mn)
		hi += int(mx)
	}
	// Items not asked count 0.
	if lo > 0 {
		lo = 0
	}
	return lo, hi
}

func (v *validator) outcomes() {
	if len(v.s.Outcomes) == 0 {
		v.add("$", "the script has no outcome rules")
		return
	}
	for i, o := range v.s.Outcomes {
		path := fmt.Sprintf("$.outcomes[%d]", i)
		if !idPattern.MatchString(o.Outcome) {
			v.add(path+".outcome", "outcome %q must be lowercase letters, digits and underscores", o.Outcome)
		}
		if !intake.Priority(o.Priority).Valid() {
			v.add(path+".priority", "outcome %q has priority %q; use none, low, normal, high or urgent", o.Outcome, o.Priority)
		}
		if o.Handoff && o.Priority == string(intake.PriorityNone) {
			v.add(path+".priority", "outcome %q hands off to staff but has priority none", o.Outcome)
		}
		if o.DiscardAnswers && o.Handoff {
			v.add(path, "outcome %q cannot both discard answers and hand off to staff", o.Outcome)
		}
		if o.When == "" {
			v.add(path, "outcome %q has no when condition (use \"true\" for a catch-all)", o.Outcome)
			continue
		}
		o.when = v.compile(path+".when", o.When, -1)
	}
	last := v.s.Outcomes[len(v.s.Outcomes)-1]
	if strings.TrimSpace(last.When) != "true" {
		v.add(fmt.Sprintf("$.outcomes[%d].when", len(v.s.Outcomes)-1), "the last outcome rule must be a catch-all (when: \"true\") so every screening ends with an outcome")
	}
}

// compile compiles a condition and checks the ids it names. at is the index of
// the question the condition belongs to (-1 for rules): a question's condition
// may only depend on questions before it, or it would be decided before they
// are answered.
func (v *validator) compile(path, src string, at int) *vm.Program {
	tree, err := parser.Parse(src)
	if err != nil {
		v.add(path, "condition does not parse: %s", firstLine(err.Error()))
		return nil
	}
	c := &refChecker{s: v.s, at: at}
	exprast.Walk(&tree.Node, c)
	for _, msg := range c.problems {
		v.add(path, "%s", msg)
	}
	if len(c.problems) > 0 {
		return nil
	}
	prog, err := expr.Compile(src, expr.Env(v.env), expr.AsBool())
	if err != nil {
		v.add(path, "condition does not compile: %s", firstLine(err.Error()))
		return nil
	}
	return prog
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// refChecker walks a condition's syntax tree and reports unknown question,
// option, instrument and band ids, and references to later questions.
type refChecker struct {
	s        *Script
	at       int
	problems []string
}

func (c *refChecker) Visit(n *exprast.Node) {
	switch node := (*n).(type) {
	case *exprast.IdentifierNode:
		switch node.Value {
		case "score", "band", "positive", "value", "crisis_language", "true", "false", "nil":
			return
		}
		q := c.s.byID[node.Value]
		if q == nil {
			c.problems = append(c.problems, fmt.Sprintf("unknown question id %q in condition", node.Value))
			return
		}
		c.checkOrder(q.ID, "question")
	case *exprast.MemberNode:
		id, ok := node.Node.(*exprast.IdentifierNode)
		prop, okp := node.Property.(*exprast.StringNode)
		if !ok || !okp {
			return
		}
		switch id.Value {
		case "score", "band", "positive":
			in := c.s.instBy[prop.Value]
			if in == nil {
				c.problems = append(c.problems, fmt.Sprintf("unknown instrument %q in %s.%s", prop.Value, id.Value, prop.Value))
				return
			}
			if id.Value == "positive" && in.Cutoff == nil {
				c.problems = append(c.problems, fmt.Sprintf("positive.%s: instrument %q has no cutoff", prop.Value, prop.Value))
			}
			for _, item := range in.Items {
				c.checkOrder(item, "instrument "+in.ID+" item")
			}
		case "value":
			q := c.s.byID[prop.Value]
			if q == nil {
				c.problems = append(c.problems, fmt.Sprintf("unknown question id %q in value.%s", prop.Value, prop.Value))
				return
			}
			c.checkOrder(q.ID, "question")
		}
	case *exprast.BinaryNode:
		c.checkComparison(node)
	}
}

func (c *refChecker) checkOrder(id, what string) {
	if c.at >= 0 && c.s.index[id] >= c.at {
		c.problems = append(c.problems, fmt.Sprintf("condition depends on %s %q, which is not asked before this question", what, id))
	}
}

// checkComparison catches typos in option ids: `consent == "noo"`,
// `"anxeity" in reasons`, `band.asq == "acut"`.
func (c *refChecker) checkComparison(b *exprast.BinaryNode) {
	switch b.Operator {
	case "==", "!=":
		c.checkLiteral(b.Left, b.Right)
		c.checkLiteral(b.Right, b.Left)
	case "in", "not in":
		if arr, ok := b.Right.(*exprast.ArrayNode); ok {
			for _, el := range arr.Nodes {
				c.checkLiteral(b.Left, el)
			}
		} else {
			c.checkLiteral(b.Right, b.Left)
		}
	}
}

func (c *refChecker) checkLiteral(ref, lit exprast.Node) {
	str, ok := lit.(*exprast.StringNode)
	if !ok {
		return
	}
	switch r := ref.(type) {
	case *exprast.IdentifierNode:
		q := c.s.byID[r.Value]
		if q != nil && q.HasChoices() && q.Option(str.Value) == nil {
			c.problems = append(c.problems, fmt.Sprintf("question %q has no option %q", q.ID, str.Value))
		}
	case *exprast.MemberNode:
		id, ok1 := r.Node.(*exprast.IdentifierNode)
		prop, ok2 := r.Property.(*exprast.StringNode)
		if !ok1 || !ok2 || id.Value != "band" {
			return
		}
		if in := c.s.instBy[prop.Value]; in != nil && !in.hasBand(str.Value) {
			c.problems = append(c.problems, fmt.Sprintf("instrument %q has no band %q", in.ID, str.Value))
		}
	}
}

func (in *Instrument) hasBand(id string) bool {
	for _, b := range in.Bands {
		if b.ID == id {
			return true
		}
	}
	return false
}
