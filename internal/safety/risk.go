package safety

import (
	"fmt"
	"strconv"
	"strings"
)

// Level is how the bot must respond to a message, from nothing special to
// an emergency. Levels are ordered: a later stage (the classifier, the
// context, a model) may raise a level, never lower it.
type Level int

// The levels, lowest first.
const (
	// LevelNone: nothing that calls for a safety reply.
	LevelNone Level = iota
	// LevelTopic: a question or remark about suicide, overdose or self-harm
	// as a topic (a side effect, research): answered, with the resources in
	// one line.
	LevelTopic
	// LevelOtherPerson: someone else is at risk; the patient is told how to
	// help them. No case for the patient.
	LevelOtherPerson
	// LevelCheck: possible risk, not clear: the bot asks directly.
	LevelCheck
	// LevelCrisis: the crisis reply at once and an urgent case.
	LevelCrisis
	// LevelEmergency: an overdose or injury in progress: call 911 now.
	LevelEmergency
)

var levelNames = [...]string{"none", "topic", "other_person", "check", "crisis", "emergency"}

func (l Level) String() string {
	if l < 0 || int(l) >= len(levelNames) {
		return "level(" + strconv.Itoa(int(l)) + ")"
	}
	return levelNames[l]
}

// ParseLevel reads a level's name.
func ParseLevel(s string) (Level, bool) {
	for i, n := range levelNames {
		if n == s {
			return Level(i), true
		}
	}
	return LevelNone, false
}

// AtRisk reports whether the level needs the crisis resources and a human.
func (l Level) AtRisk() bool { return l >= LevelCheck }

// Risk is the safety reading of one message.
type Risk struct {
	Level Level
	// Construct names what was recognised ("overdose_in_progress",
	// "passive_ideation", ...), for logs and the staff card; never the text.
	Construct string
	// Rule says which stage decided: "rule:<name>", "classifier",
	// "context", "model".
	Rule string
	// Score is the classifier's probability that the message carries risk.
	Score float64
	// cues are the risk concepts the message carried, kept for context;
	// seen are all its concepts.
	cues, seen conceptSet
	// strong says a rule other than a cue rule (see cueRules) read the
	// message at crisis or above.
	strong bool
	// explicit says a clause told an overdose in full: taking, a medicine,
	// how many and when ("swallowed 60 of my sertraline 20 min ago").
	explicit bool
}

// riskWords are the concepts that let the classifier read a short message.
const riskWords = conceptSet(1<<cDie | 1<<cSuicide | 1<<cKill | 1<<cEndSelf | 1<<cHarm | 1<<cMeans | 1<<cDrug | 1<<cIngest |
	1<<cTrapped | 1<<cHopeless | 1<<cBurden | 1<<cBurdenStrong | 1<<cNotSafe | 1<<cFarewell | 1<<cPrepare | 1<<cAttempt |
	1<<cLife | 1<<cDecision | 1<<cPoison | 1<<cSelfReflex | 1<<cGoodbye | 1<<cFarewellWeak)

// Cued reports whether the message has any word of risk the rules know
// (death, means, harm, despair...), whatever level they gave.
func (r Risk) Cued() bool { return r.seen&riskWords != 0 }

// CuedBeyondMedicine reports a word of risk other than a medicine's name or
// taking one ("thinking of stopping my lithium" has none).
func (r Risk) CuedBeyondMedicine() bool {
	return r.seen&riskWords&^(1<<cDrug|1<<cIngest) != 0
}

// Raise returns r at level l when l is higher, keeping r otherwise.
func (r Risk) Raise(l Level, construct, rule string) Risk {
	if l > r.Level {
		r.Level, r.Construct, r.Rule = l, construct, rule
	}
	return r
}

// concept ids: the words and phrases of each come from safety.yaml
// (concepts:); the rules below combine them within a clause.
type concept int

const (
	cSelf         concept = iota // i, me, my
	cSelfReflex                  // myself
	cOther                       // he, she, my friend, my son
	cOtherReflex                 // himself, herself, themselves
	cGeneric                     // people, someone, anyone, you (as in "can you overdose")
	cDesire                      // want, wish, hope, would rather
	cIntent                      // going to, plan, decided, about to
	cThink                       // thinking about, considering, keep picturing
	cDie                         // die, dead, death
	cSuicide                     // suicide, suicidal
	cKill                        // kill, end, off (with a self object: kill myself)
	cEndSelf                     // end my life, end it all, not be here, disappear forever
	cLife                        // live, alive, exist, wake up, be here, go on
	cHarm                        // cut, burn, hurt, harm, hit
	cBleed                       // bleeding, deep, won't stop
	cMeans                       // gun, rope, bridge, train, pills, blade
	cDrug                        // pills, medicines by name, alcohol
	cPoison                      // bleach, antifreeze
	cIngest                      // took, swallowed, drank, popped, overdosed
	cQuantity                    // all, whole, bunch, handful, bottle
	cNow                         // just, now, an hour ago, already
	cPast                        // years ago, used to, when i was
	cTiming                      // tonight, tomorrow, this weekend, after
	cDecision                    // decided, made up my mind, im done
	cFarewell                    // goodbye to everyone, my note, giving away my things
	cPrepare                     // stockpile, research, save up, how many would it take
	cAttempt                     // tried to, attempt
	cBurden                      // a burden, in the way (weak)
	cBurdenStrong                // better off without me, no one would miss me
	cHopeless                    // hopeless, no point, tired of everything (weak)
	cTrapped                     // can't go on, no way out, can't do this anymore
	cNotSafe                     // not safe, don't trust myself
	cNegation                    // not, never, no
	cQuestion                    // does, can, is, what, how (at the start), "?"
	cTopic                       // ketamine, treatment, side effect, research, study
	cFigure                      // figures of speech blanked out ("killing me" of a commute)
	cSelfSuicidal                // i am suicidal, my suicidal thoughts
	cHypo                        // if, what if, in case
	cRecent                      // just, now, tonight (weaker than cNow)
	cRegimen                     // a day, prescribed, i take: a habit, not an event
	cCut                         // cut, carve, slice: harm only when oneself is cut (cutObject)
	cBody                        // arm, wrist, thigh, skin: what self-harm is done to
	cGoodbye                     // goodbye, farewell: asked about alone, a crisis with another cue
	cFarewellWeak                // paid off, made a will, gave away: a crisis only with another cue
	cSymptom                     // dizzy, throwing up, cant breathe: the body now (also read as now)
	cGas                         // car running in a closed garage, charcoal, exhaust (also read as a means)
	cAgo                         // 20 min ago, just now: when something was done (also read as recent)
	numConcepts
)

// conceptNames are the keys of safety.yaml's concepts map.
var conceptNames = [numConcepts]string{
	"self", "self_reflexive", "other", "other_reflexive", "generic", "desire", "intent", "think",
	"die", "suicide", "kill", "end_self", "life", "harm", "bleed", "means", "drug", "poison", "ingest",
	"quantity", "now", "past", "timing", "decision", "farewell", "prepare", "attempt", "burden",
	"burden_strong", "hopeless", "trapped", "not_safe", "negation", "question", "topic", "figure",
	"self_suicidal", "hypothetical", "recent", "regimen", "cut", "body",
	"goodbye", "farewell_weak", "symptom", "gas", "ago",
}

// implied are the concepts a concept's words carry as well: a symptom is
// happening now, a gas is a means.
var implied = [numConcepts]conceptSet{cSymptom: 1 << cNow, cGas: 1 << cMeans, cAgo: 1 << cRecent}

type conceptSet uint64

func (s conceptSet) has(cs ...concept) bool {
	for _, c := range cs {
		if s&(1<<c) == 0 {
			return false
		}
	}
	return true
}

func (s conceptSet) any(cs ...concept) bool {
	for _, c := range cs {
		if s&(1<<c) != 0 {
			return true
		}
	}
	return false
}

// cueMask are the concepts that add up across a patient's recent messages.
const cueMask = conceptSet(1<<cDie | 1<<cSuicide | 1<<cEndSelf | 1<<cMeans | 1<<cPoison | 1<<cTiming | 1<<cDecision |
	1<<cFarewell | 1<<cPrepare | 1<<cBurden | 1<<cBurdenStrong | 1<<cHopeless | 1<<cTrapped | 1<<cHarm |
	1<<cGoodbye | 1<<cFarewellWeak)

// clause is one stretch of a message, read as concepts.
type clause struct {
	set conceptSet
	// other: the risk words are said of someone else (the nearest subject
	// before them is a third person, or a reflexive such as "himself").
	other bool
	// bigNumber: a count of ten or more ("took 30").
	bigNumber bool
	question  bool
	// pastTense: a verb in the past tense ("died", "took"), which stems hide.
	pastTense bool
	// deathOther: every word of death in the clause is said of someone else.
	deathOther bool
	// overdoseWord: "overdose" or "od" itself.
	overdoseWord bool
	// onPurpose: "on purpose", "intentionally", "deliberately".
	onPurpose bool
}

// pastVerbs are past-tense forms the rules look at (stems merge "died"
// with "die").
var pastVerbs = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields("died passed killed was were lost hanged shot had committed took overdosed attempted") {
		m[collapseRuns(w)] = true
	}
	return m
}()

// phrase is one concept entry: a sequence of stems, and of the words as
// written for a concept matched on word forms (see Lexicon.WordForms).
type phrase struct {
	stems, words []string
	c            concept
}

// splitClauses cuts text at sentence ends and at "but", where negation and
// subjects stop reaching.
func splitClauses(text string) []string {
	var parts []string
	start := 0
	for i, r := range text {
		switch r {
		case '.', '!', ';', '\n':
			// keep "3.5" and "..." inside clauses of one word
			parts = append(parts, text[start:i])
			start = i + 1
		case '?':
			parts = append(parts, text[start:i+1])
			start = i + 1
		}
	}
	parts = append(parts, text[start:])
	var out []string
	for _, p := range parts {
		for _, q := range splitWord(p, " but ") {
			if strings.TrimSpace(q) != "" {
				out = append(out, q)
			}
		}
	}
	return out
}

func splitWord(s, sep string) []string {
	low := strings.ToLower(s)
	var out []string
	for {
		i := strings.Index(low, sep)
		if i < 0 {
			return append(out, s)
		}
		out = append(out, s[:i])
		s, low = s[i+len(sep)-1:], low[i+len(sep)-1:]
	}
}

// token is one normalised word and its stem.
type token struct {
	word, stem string
}

// tokens normalises a clause: slang replaced, typos of key words
// corrected, figures of speech blanked, every word stemmed.
func (d *Detector) tokens(text string) []token {
	words := Normalize(text)
	var out []string
	for _, w := range words {
		if r, ok := d.replace[w]; ok {
			out = append(out, r...)
			continue
		}
		out = append(out, d.correct(d.restoreG(w)))
	}
	s := " " + strings.Join(out, " ") + " "
	for _, f := range d.ignore {
		if f.mayMatch(s) {
			s = f.re.ReplaceAllString(s, " figureofspeech ")
		}
	}
	var toks []token
	for _, w := range strings.Fields(s) {
		toks = append(toks, token{word: w, stem: stemWord(w)})
	}
	return toks
}

// subject words: who the nearest verb is about.
var selfSubjects = map[string]bool{"i": true, "myself": true, "we": true}

// tag finds the concepts of a clause and whose they are.
func (d *Detector) tag(raw string, toks []token) clause {
	var cl clause
	hits := make([]conceptSet, len(toks))
	for i := range toks {
		for _, p := range d.concepts[toks[i].stem] {
			if i+len(p.stems) > len(toks) {
				continue
			}
			ok := true
			for j, s := range p.stems {
				if toks[i+j].stem != s || p.words != nil && toks[i+j].word != p.words[j] {
					ok = false
					break
				}
			}
			if ok {
				for j := range p.stems {
					hits[i+j] |= 1<<p.c | implied[p.c]
				}
				cl.set |= 1<<p.c | implied[p.c]
			}
		}
		if n, err := strconv.Atoi(toks[i].word); err == nil && n >= 10 && n < 1000 && !timeOrDose(toks, i) {
			cl.bigNumber = true
		}
		if actTime(toks, i) {
			hits[i] |= 1<<cAgo | 1<<cRecent
			cl.set |= 1<<cAgo | 1<<cRecent
		}
		if pastTime(toks, i) {
			hits[i] |= 1 << cPast
			cl.set |= 1 << cPast
		}
		if isOrdinal(toks[i].word) {
			cl.set |= 1 << cTiming // a date: "the 14th"
		}
		if drugName(toks[i].word) {
			hits[i] |= 1 << cDrug
			cl.set |= 1 << cDrug
		}
		if toks[i].stem == "overdos" {
			cl.overdoseWord = true
		}
		if toks[i].word == "suicides" {
			cl.set |= 1 << cTopic // other people's deaths: exposure, not the writer's wish
		}
		if pastVerbs[toks[i].word] {
			cl.pastTense = true
		}
		if toks[i].word == "figureofspeech" {
			cl.set |= 1 << cFigure
		}
	}
	// "i think i'm at the wrong building", "i thought it was friday": a
	// hedge before a clause, not a thought about something.
	for i := range toks {
		if hits[i].has(cThink) && (toks[i].word == "think" || toks[i].word == "thought") && i+1 < len(toks) && hedgeNext[toks[i+1].word] {
			hits[i] &^= 1 << cThink
		}
	}
	cl.set &^= 1 << cThink
	for i := range toks {
		cl.set |= hits[i] & (1 << cThink)
	}
	// A symptom named as what a medicine is for ("took 2 advil for my
	// headache", "the pill they gave me for nausea") is not one happening.
	for i := range toks {
		if hits[i].has(cSymptom) && (i == 0 || !hits[i-1].has(cSymptom)) && forReason(toks, i) {
			for j := i; j < len(toks) && hits[j].has(cSymptom); j++ {
				hits[j] &^= 1<<cSymptom | implied[cSymptom]
			}
		}
	}
	cl.set &^= 1<<cSymptom | implied[cSymptom]
	for i := range toks {
		cl.set |= hits[i] & (1<<cSymptom | implied[cSymptom])
	}
	for i := range toks {
		if hits[i].has(cCut) && cutsOneself(toks, hits, i) {
			hits[i] |= 1 << cHarm
			cl.set |= 1 << cHarm
		}
	}
	low := strings.ToLower(raw)
	cl.onPurpose = strings.Contains(low, "on purpose") || strings.Contains(low, "intentionally") || strings.Contains(low, "deliberately")
	// A question: a question mark, or a question word first.
	trimmed := strings.TrimSpace(raw)
	cl.question = strings.HasSuffix(trimmed, "?") || hits[0].has(cQuestion)
	if cl.question {
		cl.set |= 1 << cQuestion
	} else {
		cl.set &^= 1 << cQuestion
	}
	// Whose risk: each risk word belongs to the nearest subject before
	// it; the clause is about someone else only if every one does.
	risk := conceptSet(1<<cDie | 1<<cSuicide | 1<<cKill | 1<<cEndSelf | 1<<cHarm | 1<<cIngest | 1<<cDesire | 1<<cIntent | 1<<cAttempt)
	death := conceptSet(1<<cDie | 1<<cSuicide | 1<<cKill | 1<<cEndSelf)
	others, selves, deathOthers, deathSelves := 0, 0, 0, 0
	for i := range toks {
		if hits[i]&risk == 0 {
			continue
		}
		other := false
		for j := i - 1; j >= 0; j-- {
			if selfSubjects[toks[j].word] {
				break
			}
			if hits[j].has(cOther) {
				other = true
				break
			}
		}
		if other {
			others++
		} else {
			selves++
		}
		if hits[i]&death != 0 {
			if other {
				deathOthers++
			} else {
				deathSelves++
			}
		}
	}
	cl.other = others > 0 && selves == 0
	cl.deathOther = deathOthers > 0 && deathSelves == 0
	if cl.set.has(cOtherReflex) && !cl.set.has(cSelfReflex) {
		cl.other = true
	}
	if cl.set.has(cSelfReflex) {
		cl.other = false
	}
	return cl
}

// forReason reports whether the symptom at i follows "for" (with "my",
// "a", "the" between): what a medicine is taken for.
func forReason(toks []token, i int) bool {
	for j := i - 1; j >= 0 && j >= i-3; j-- {
		switch toks[j].word {
		case "for":
			return true
		case "my", "a", "the", "bad", "this", "his", "her", "their":
			continue
		}
		return false
	}
	return false
}

// hedgeNext are the words that open the clause after a hedging "i think".
var hedgeNext = map[string]bool{"i": true, "im": true, "it": true, "its": true, "you": true, "that": true, "so": true, "we": true,
	"he": true, "she": true, "they": true, "this": true, "the": true, "my": true, "there": true, "maybe": true, "ill": true, "is": true, "was": true}

// drugSuffixes end the generic names of medicines (alprazolam, oxycodone,
// quetiapine, lamotrigine...), so that a medicine safety.yaml does not list
// is still read as one. Each is long enough that no everyday word ends so.
var drugSuffixes = []string{"azepam", "azolam", "oxone", "codone", "morphone", "apine", "oxetine", "triptyline", "pramine",
	"profen", "etamol", "olol", "sartan", "dipine", "trigine", "barbital", "tadine", "faxine", "zodone", "peridone", "piprazole", "pentin", "abalin"}

// drugName reports whether a word is shaped like a medicine's generic name.
func drugName(w string) bool {
	if len(w) < 7 {
		return false
	}
	for _, suf := range drugSuffixes {
		if strings.HasSuffix(w, suf) {
			return true
		}
	}
	return false
}

// cutsOneself reports whether the cutting word at i is done to oneself:
// its object is the body or oneself ("cut my arm", "cutting myself"), or
// it has none ("been cutting again", "i cut last night", "cut too deep").
// A named object that is not the body ("cut my zoloft in half", "cut meat",
// "cut in line") is something else.
func cutsOneself(toks []token, hits []conceptSet, i int) bool {
	j := i + 1
	for j < len(toks) && cutFiller[toks[j].word] {
		j++
	}
	if j == len(toks) {
		return true
	}
	h := hits[j]
	return h.any(cBody, cSelfReflex, cNow, cRecent, cTiming, cPast, cBleed) || cutAfter[toks[j].word]
}

// cutFiller are the words skipped before a cut's object; cutAfter the
// words that end a cut with no object ("cut again", "cut and").
var (
	cutFiller = map[string]bool{"my": true, "the": true, "a": true, "up": true, "open": true, "into": true, "on": true}
	cutAfter  = map[string]bool{"again": true, "and": true, "but": true, "so": true, "because": true, "when": true, "till": true, "until": true,
		"to": true, "too": true, "every": true, "it": true, "more": true, "some": true, "badly": true, "bad": true, "lately": true, "since": true}
)

// restoreG gives a word written with its final g dropped ("goin",
// "bleedin", "shakin") the g back, when the word with it is a known English
// word (the clusters' vocabulary) and the word as written is not.
func (d *Detector) restoreG(w string) string {
	if len(w) < 4 || !strings.HasSuffix(w, "in") {
		return w
	}
	if _, ok := d.clusters[w]; ok {
		return w
	}
	if _, ok := d.clusters[w+"g"]; ok {
		return w + "g"
	}
	return w
}

// ruleResult is what the clause rules decided.
type ruleResult struct {
	level     Level
	construct string
	rule      string
}

// explicitOverdose: a clause that tells an overdose in full, taking, a
// medicine, how many and when or what it is doing: no classifier's doubt
// lowers it.
func explicitOverdose(cl clause) bool {
	s := cl.set
	return !cl.other && !cl.question && s.has(cIngest, cDrug) && (cl.bigNumber || s.has(cQuantity)) && s.any(cAgo, cSymptom) &&
		!s.any(cHypo, cGeneric, cNegation, cRegimen)
}

func (r *ruleResult) raise(l Level, construct, rule string) {
	if l > r.level {
		r.level, r.construct, r.rule = l, construct, rule
	}
}

// judge applies the clause rules, most severe first. Negation and a
// question about the topic lower what a clause says, but never below a
// check when the clause names intent, means or timing.
func judge(cl clause) ruleResult {
	var r ruleResult
	s := cl.set
	neg := s.has(cNegation)
	past := s.has(cPast) && !s.any(cNow, cRecent)
	// Figures of speech were blanked out; what is left is read as usual.

	selfRisk := func(l Level, construct, rule string) {
		if cl.other {
			r.raise(LevelOtherPerson, "other_person", rule)
			return
		}
		r.raise(l, construct, rule)
	}

	// Someone else's death in the past (grief, exposure): not a risk of
	// the patient's own, and no one to help now.
	if (cl.other || cl.deathOther) && (cl.pastTense || s.has(cPast)) && !s.has(cNow) && !s.any(cHarm, cFarewell, cPrepare, cTrapped, cAttempt) &&
		!(s.has(cIngest) && s.any(cDrug, cPoison)) {
		r.raise(LevelNone, "grief_exposure", "grief")
		return r
	}

	// Emergency: something taken or done just now.
	if overdose(cl) && !(cl.question && s.has(cGeneric)) {
		selfRisk(LevelEmergency, "overdose_in_progress", "ingested")
	}
	// A cut or a blade and bleeding that will not stop, whatever else the
	// clause says.
	if s.has(cBleed) && s.any(cCut, cMeans) && !cl.question && !s.has(cGeneric) {
		selfRisk(LevelEmergency, "overdose_in_progress", "bleeding")
	}
	if s.has(cHarm, cBleed) && !cl.question {
		selfRisk(LevelEmergency, "overdose_in_progress", "bleeding")
	}
	// An act against oneself, or a gas, told with what it is doing to the
	// body now ("hung myself but the thing broke, now my neck is swollen
	// and i can barely breathe", "lit the charcoal in the bathroom, door
	// taped, getting a headache"); read across the message's clauses as
	// well. Past only when nothing says it is recent.
	if s.has(cSymptom) && !cl.question && !s.any(cHypo, cGeneric, cTopic, cDesire, cThink) && !(s.has(cPast) && !s.has(cRecent)) {
		act := s.any(cHarm, cAttempt, cGas, cPoison) || (s.has(cKill) && s.any(cSelf, cSelfReflex)) || cl.overdoseWord ||
			(s.has(cIngest) && s.any(cPoison, cQuantity))
		if act {
			selfRisk(LevelEmergency, "overdose_in_progress", "act_symptom")
		}
	}

	// Asking about the topic (a side effect, research, "can you overdose on
	// ketamine") with nothing said of oneself.
	topicWords := s.any(cSuicide, cDie, cKill, cEndSelf, cHarm) || (s.has(cIngest) && s.any(cDrug, cQuantity)) || cl.overdoseWord
	selfStatement := s.any(cDesire, cIntent, cDecision, cFarewell, cPrepare, cNotSafe, cTrapped, cBurdenStrong, cSelfSuicidal)

	attempt := (s.has(cAttempt) && s.any(cSuicide, cKill, cEndSelf, cDie, cIngest, cHarm, cMeans, cDrug)) ||
		(s.has(cIngest) && s.has(cDrug) && s.any(cDie, cKill, cEndSelf, cSuicide)) || // "took a bottle of tylenol to die"
		(cl.onPurpose && (cl.overdoseWord || s.any(cKill, cMeans))) // "overdosed on purpose last march"
	switch {
	case attempt && neg && !s.any(cNow, cRecent):
		// "no attempts": the patient says none.
	case attempt && (cl.question || s.has(cTopic)) && !s.has(cSelf):
		r.raise(LevelTopic, "topic_question", "attempt_topic")
	case attempt && (cl.question || s.has(cTopic)):
		selfRisk(LevelCheck, "past_attempt", "attempt_question")
	case attempt:
		selfRisk(LevelCrisis, "past_attempt", "attempt")
	case s.has(cNotSafe) && !cl.question:
		selfRisk(LevelCrisis, "not_safe", "not_safe")
	case s.has(cNotSafe):
		selfRisk(LevelCheck, "not_safe", "not_safe_question")
	}

	if s.any(cEndSelf) || (s.has(cKill) && s.has(cSelfReflex)) {
		switch {
		case neg && !s.any(cTiming, cMeans, cDecision) && !s.has(cLife):
			selfRisk(LevelCheck, "active_ideation", "end_self_negated")
		case cl.question && s.has(cGeneric) && !s.has(cSelf):
			r.raise(LevelTopic, "topic_question", "end_self_topic")
		default:
			selfRisk(LevelCrisis, "active_ideation", "end_self")
		}
	}
	// A method said of oneself ("i drown", "i jump into traffic").
	// With no subject at all, a method thought of, wanted or intended is
	// the writer's ("thinking of jumping in front of a train": chat drops
	// the "i").
	subjectless := !s.any(cSelf, cSelfReflex, cOther, cOtherReflex) && s.any(cThink, cDesire, cIntent)
	if s.has(cKill) && (s.has(cSelf) || subjectless) && !s.any(cFigure, cNegation, cGeneric, cTopic) && !cl.question && !past {
		selfRisk(LevelCrisis, "active_ideation", "method_self")
	}
	if s.has(cSuicide) {
		switch {
		case neg && !s.any(cTiming, cMeans, cDecision, cDesire, cIntent):
			// "i'm not suicidal", "no suicidal thoughts": the patient says so.
		case s.has(cSelfSuicidal, cSelf) && !s.any(cHypo, cGeneric) && !past:
			selfRisk(LevelCrisis, "active_ideation", "self_suicidal")
		case s.any(cThink, cIntent, cTiming, cDecision) && s.has(cSelf) && !s.any(cHypo, cGeneric) && !cl.question && !s.has(cTopic):
			selfRisk(LevelCrisis, "active_ideation", "suicide_thoughts")
		case cl.question || s.has(cTopic) || s.has(cHypo) || s.has(cGeneric):
			if s.has(cSelfSuicidal, cSelf) && !s.any(cHypo, cGeneric) || (s.has(cSelf) && s.has(cThink) && !s.any(cHypo, cGeneric)) {
				selfRisk(LevelCheck, "active_ideation", "suicide_topic_self")
			} else {
				r.raise(LevelTopic, "topic_question", "suicide_topic")
			}
		case neg:
			// "i'm not suicidal": no alarm; the patient said so.
		case past || cl.pastTense:
			selfRisk(LevelCheck, "active_ideation", "suicide_past")
		default:
			selfRisk(LevelCrisis, "active_ideation", "suicide")
		}
	}
	if s.has(cDesire) && s.any(cDie, cKill) && !s.has(cFigure) {
		switch {
		case neg && !s.has(cLife):
			selfRisk(LevelCheck, "passive_ideation", "desire_die_negated")
		case cl.question && s.has(cGeneric) && !s.has(cSelf):
			r.raise(LevelTopic, "topic_question", "desire_die_topic")
		default:
			selfRisk(LevelCrisis, "passive_ideation", "desire_die")
		}
	}
	if s.has(cLife) && s.has(cNegation) && s.any(cDesire, cThink, cHopeless, cIntent) {
		selfRisk(LevelCrisis, "passive_ideation", "no_life")
	}
	if s.has(cLife) && s.any(cHopeless, cTrapped) {
		selfRisk(LevelCrisis, "hopeless_entrapment", "no_life")
	}
	if s.has(cDie) && s.has(cSelf) && s.any(cThink, cIntent, cTiming) && !cl.question && !s.has(cFigure) {
		selfRisk(LevelCrisis, "passive_ideation", "think_die")
	} else if s.has(cDie) && s.has(cSelf) && !cl.question && !past && !s.any(cFigure, cTopic) && !cl.pastTense && !cl.deathOther {
		selfRisk(LevelCheck, "passive_ideation", "self_die")
	}

	// Self-injury: said of oneself, now or before (a relapse after years
	// matters), unless denied.
	if s.has(cHarm) && !s.has(cFigure) {
		switch {
		case cl.question && !s.any(cSelfReflex, cNow, cRecent) && !s.has(cSelf):
			r.raise(LevelTopic, "topic_question", "harm_topic")
		case cl.question && !s.any(cSelfReflex, cNow, cRecent):
			selfRisk(LevelCheck, "self_injury", "harm_question")
		case s.has(cTopic) && !s.any(cSelfReflex, cNow, cRecent):
			r.raise(LevelTopic, "topic_question", "harm_topic")
		case (neg || past || (cl.question && s.has(cHypo))) && !s.has(cNow):
			selfRisk(LevelCheck, "self_injury", "harm_past")
		default:
			selfRisk(LevelCrisis, "self_injury", "harm")
		}
	}

	// Methods and means with desire, thought, preparation or a decision;
	// intent with a time.
	if s.has(cMeans) && s.any(cDesire, cThink, cDecision, cPrepare, cKill, cEndSelf, cIntent) && !s.has(cFigure) {
		switch {
		case cl.question && s.has(cTopic) && !s.has(cSelf):
			r.raise(LevelTopic, "topic_question", "means_topic")
		default:
			selfRisk(LevelCrisis, "method_means", "means")
		}
	}
	if cl.overdoseWord && s.any(cSelf, cThink, cDesire, cIntent) && !cl.question && !s.any(cGeneric, cTopic, cHypo) && !neg && !past {
		selfRisk(LevelCrisis, "method_means", "overdose_self")
	}
	if s.has(cDrug) && s.any(cDesire, cThink, cIntent, cDecision) && (s.has(cQuantity) || cl.bigNumber) && !cl.question {
		selfRisk(LevelCrisis, "method_means", "drug_quantity")
	}
	if s.has(cIntent) && s.has(cTiming) && !cl.question {
		selfRisk(LevelCrisis, "plan_intent_timing", "intent_timing")
	}
	if s.has(cPrepare) && s.any(cDrug, cMeans, cDie, cKill, cEndSelf) && !cl.question {
		selfRisk(LevelCrisis, "preparation", "prepare")
	}
	if s.has(cFarewell) {
		selfRisk(LevelCrisis, "preparation", "farewell")
	}
	// A goodbye, or an act of putting things in order, with another cue of
	// risk in the clause (or the message, or the recent messages) is a
	// farewell; a goodbye alone is asked about; putting things in order
	// alone is ordinary life, left to the classifier.
	if s.any(cGoodbye, cFarewellWeak) && !(cl.question && !s.has(cSelf)) {
		other := s &^ (1<<cGoodbye | 1<<cFarewellWeak)
		switch {
		case other.any(cDie, cKill, cEndSelf, cSuicide, cDecision, cTiming, cHopeless, cTrapped, cBurden, cBurdenStrong,
			cPrepare, cMeans, cNotSafe, cIntent, cFarewell) || s.has(cGoodbye, cFarewellWeak):
			selfRisk(LevelCrisis, "preparation", "farewell_cued")
		case s.has(cGoodbye) && !cl.question:
			selfRisk(LevelCheck, "preparation", "goodbye")
		}
	}
	if s.has(cDecision) && s.any(cTiming, cEndSelf, cDie, cKill, cMeans, cIntent) {
		selfRisk(LevelCrisis, "plan_intent_timing", "decision")
	} else if s.has(cDecision) && !cl.question {
		selfRisk(LevelCheck, "plan_intent_timing", "decision_alone")
	}

	// Burden, not belonging, hopelessness, entrapment.
	if s.has(cBurdenStrong) {
		selfRisk(LevelCrisis, "burden_belonging", "burden")
	} else if s.has(cBurden) {
		selfRisk(LevelCheck, "burden_belonging", "burden_weak")
	}
	if s.has(cTrapped) && !cl.question {
		selfRisk(LevelCrisis, "hopeless_entrapment", "trapped")
	} else if s.any(cHopeless, cTrapped) && !s.has(cFigure) {
		selfRisk(LevelCheck, "hopeless_entrapment", "hopeless")
	}

	// A question about the topic with nothing said of oneself.
	if topicWords && cl.question && !selfStatement && r.level < LevelTopic {
		r.raise(LevelTopic, "topic_question", "topic")
	}
	// Someone else at risk, named without a risk rule firing for the
	// patient: "my son took a bunch of pills" is caught above; "my friend
	// is suicidal" here.
	if cl.other && topicWords && r.level < LevelOtherPerson && !cl.question {
		r.raise(LevelOtherPerson, "other_person", "other")
	}
	if r.rule != "" {
		r.rule = "rule:" + r.rule
	}
	return r
}

// timeOrDose reports a number that is a time, a dose or a duration ("at
// 10", "40 mg", "30 minutes"), not a count of pills.
func timeOrDose(toks []token, i int) bool {
	if i > 0 {
		switch toks[i-1].word {
		case "at", "by", "around", "until", "til", "till", "since", "before", "after", "from", "to":
			return true
		}
	}
	if i+1 < len(toks) {
		switch toks[i+1].word {
		case "mg", "mgs", "ml", "mcg", "units", "unit", "min", "mins", "minutes", "hours", "hrs", "hour", "am", "pm", "years", "yrs",
			"days", "weeks", "months", "percent", "dollars", "bucks", "miles", "degrees", "lbs", "pounds", "kg":
			return true
		}
	}
	return false
}

// pastTime reports a time long enough ago to be history at i: "last
// march", "last summer", "last year", "in 2019", "in the 90s" (not "last
// night" or "last week", which may be what is happening now).
func pastTime(toks []token, i int) bool {
	if i+1 >= len(toks) {
		return false
	}
	next := toks[i+1].word
	switch toks[i].word {
	case "last":
		return pastUnits[next]
	case "in":
		if next == "the" && i+2 < len(toks) {
			next = toks[i+2].word
			return len(next) == 3 && next[2] == 's' && next[0] >= '0' && next[0] <= '9' // "in the 90s"
		}
		n, err := strconv.Atoi(next)
		return err == nil && n >= 1950 && n <= 2100
	}
	return false
}

// actTime reports a time of minutes or hours since something was done at
// i, a unit of time: "20 min ago", "40 minutes back", "its been an hour",
// "been 2 hrs", "within the past half hour".
func actTime(toks []token, i int) bool {
	if !shortUnits[toks[i].word] {
		return false
	}
	if i+1 < len(toks) && (toks[i+1].word == "ago" || toks[i+1].word == "back") {
		return true
	}
	for j := i - 1; j >= 0 && j >= i-3; j-- {
		if toks[j].word == "been" || toks[j].word == "past" || toks[j].word == "last" {
			return true // "its been an hour", "in the past half hour", "the last 20 minutes"
		}
	}
	return false
}

// shortUnits are the units of a time since an act that may still be
// happening.
var shortUnits = map[string]bool{"sec": true, "secs": true, "seconds": true, "min": true, "mins": true, "minute": true, "minutes": true,
	"hour": true, "hours": true, "hr": true, "hrs": true}

// pastUnits follow "last" in a time long enough ago to be history.
var pastUnits = map[string]bool{"year": true, "spring": true, "summer": true, "fall": true, "autumn": true, "winter": true,
	"january": true, "february": true, "march": true, "april": true, "may": true, "june": true, "july": true, "august": true,
	"september": true, "october": true, "november": true, "december": true, "decade": true, "semester": true}

// isOrdinal reports a day of the month written as "14th" or "1st".
func isOrdinal(w string) bool {
	n := len(w)
	if n < 3 || n > 4 {
		return false
	}
	if _, err := strconv.Atoi(w[:n-2]); err != nil {
		return false
	}
	switch w[n-2:] {
	case "st", "nd", "rd", "th":
		return true
	}
	return false
}

// messageRules are the rules also read across a message's clauses, where
// a plan is often told in pieces ("done. saturday.").
var messageRules = map[string]bool{"rule:farewell_cued": true, "rule:decision": true, "rule:intent_timing": true, "rule:prepare": true, "rule:means": true,
	"rule:drug_quantity": true, "rule:ingested": true, "rule:act_symptom": true}

// overdose: a lot of a medicine or a poison taken, or a medicine taken
// with something that says now ("on purpose", "20 min ago", "so dizzy"),
// and nothing placing it years ago.
func overdose(cl clause) bool {
	s := cl.set
	if s.has(cPast) && !s.any(cNow, cRecent) {
		return false
	}
	// "30 tablets a month", "i take 20mg daily": a prescription, not an
	// overdose, unless something says it is happening now.
	if s.has(cRegimen) && !s.has(cNow) && !cl.onPurpose && !s.has(cPoison) {
		return false
	}
	lot := s.any(cQuantity, cPoison) || cl.bigNumber
	if cl.overdoseWord && s.any(cNow, cRecent) && !cl.question && !s.any(cGeneric, cHypo, cNegation, cTopic) {
		return true // "i've taken an overdose", "od'd on purpose 15 min ago"
	}
	if s.has(cIngest) {
		return (lot && s.any(cDrug, cMeans, cNow, cRecent, cPoison, cIntent)) || (s.has(cDrug) && s.has(cNow)) ||
			(s.has(cDrug) && s.any(cRecent, cNow) && s.any(cIntent, cDecision, cFarewell)) ||
			(cl.onPurpose && s.any(cDrug, cNow, cRecent) || lot && cl.onPurpose)
	}
	// No word of taking: a lot of a medicine with when it was taken or
	// what it is doing ("whole pack of paracetamol, 2 hrs ago"), not a
	// state ("i keep all my meds in a lockbox now").
	return s.has(cDrug) && ((lot && s.any(cNow, cAgo)) || (s.has(cNow) && s.has(cIntent))) && !cl.question
}

// conceptOf maps a concept name from safety.yaml to its id.
func conceptOf(name string) (concept, error) {
	for i, n := range conceptNames {
		if n == name {
			return concept(i), nil
		}
	}
	return 0, fmt.Errorf("unknown concept %q (known: %s)", name, strings.Join(conceptNames[:], ", "))
}
