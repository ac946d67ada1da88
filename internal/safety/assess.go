package safety

import (
	"sync"
	"time"
)

// Window is how far back a patient's cues add up.
type Window struct {
	Messages int
	Age      time.Duration
}

// cueRules are the rules whose crisis is a strong cue rather than a
// statement: a decision, a timing, a means, a preparation, being
// trapped, read without an explicit word of dying or suicide. On the
// training part they made 38 of the rules' 89 false crisis alarms ("i've
// decided to book the consult", "tonight's the night, taco tuesday"), so
// their crisis stands when the classifier agrees (probability of risk at
// least agreeAt) and is a check otherwise: the patient is asked directly,
// never left without an answer. The statements (suicide, ending oneself,
// a method one means to use, wanting to die, an overdose, a burden, an
// attempt, self-harm, not safe, a farewell) and the rules' emergencies
// stand unless the classifier is far surer the message is harmless than
// it was of any at-risk sentence the rules read so (statementAt,
// ruleEmergencyAt: half the lowest such concern, out of fold): then they too
// are a check. On the training part, cross-validated, the bars (0.026 and
// 0.07) ask instead of alarming for 10-12 of the statements' 49 false
// crises ("kms my wifi just cut out") and 9 of the rules' 16 false
// emergencies ("stable on lithium 900mg"), and for none of the at-risk
// sentences; crisis recall at the same budget rose from 86.0% to 87.9%.
var cueRules = map[string]bool{}

func init() {
	for _, n := range []string{"means", "drug_quantity", "decision", "intent_timing", "farewell_cued",
		"prepare", "trapped"} {
		cueRules["rule:"+n] = true
		cueRules["rule:"+n+"_message"] = true
	}
}

// Assess reads one message on its own: the clause rules, then the
// classifier, which can only raise the level.
func (d *Detector) Assess(text string) Risk {
	cls, toks := d.read(text)
	return d.assess(cls, toks)
}

func (d *Detector) read(text string) ([]clause, [][]token) {
	var cls []clause
	var toks [][]token
	for _, raw := range splitClauses(text) {
		ts := d.tokens(raw)
		if len(ts) == 0 {
			continue
		}
		cls = append(cls, d.tag(raw, ts))
		toks = append(toks, ts)
	}
	return cls, toks
}

func (d *Detector) assess(cls []clause, toks [][]token) Risk {
	var r Risk
	var merged clause
	for _, cl := range cls {
		j := judge(cl)
		r = r.Raise(j.level, j.construct, j.rule)
		r.strong = r.strong || (j.level >= LevelCrisis && !cueRules[j.rule])
		r.explicit = r.explicit || (j.level == LevelEmergency && explicitOverdose(cl))
		r.seen |= cl.set
		if !cl.other {
			r.cues |= cl.set & cueMask
			// A denial, a question or a hypothesis speaks for its own
			// clause: "overdosed. not sure what to do now" is not denied
			// by its second clause.
			set := cl.set
			if set&riskWords == 0 {
				set &^= 1<<cNegation | 1<<cQuestion | 1<<cHypo
			}
			merged.set |= set
			merged.bigNumber = merged.bigNumber || cl.bigNumber
			merged.onPurpose = merged.onPurpose || cl.onPurpose
			merged.overdoseWord = merged.overdoseWord || cl.overdoseWord
		}
	}
	// An overdose or a plan told in pieces ("i took the pills. all of
	// them.", "done. saturday.") is read across the message's clauses.
	if len(cls) > 1 && r.Level < LevelEmergency {
		if j := judge(merged); messageRules[j.rule] && j.level >= LevelCrisis {
			r = r.Raise(j.level, j.construct, j.rule+"_message")
		}
	}
	if len(cls) == 0 || d.model == nil {
		return r
	}
	// A short message with no word of risk in it ("not sure", "three
	// plus", an answer to a screening question) is left to the rules: the
	// classifier knows too little of it to ask.
	words := 0
	for _, ts := range toks {
		words += len(ts)
	}
	if r.seen&riskWords == 0 && words < 4 {
		return r
	}
	p := d.model.probs(d.features(cls, toks))
	r.Score = riskOf(p)
	return d.model.combine(r, p)
}

// combine raises (or, for a cue rule's crisis the classifier does not
// confirm, turns into a check) the rules' reading r with the classifier's
// probabilities p. The generator's threshold search calls it too, so what
// is tuned is what runs.
func (m *classifier) combine(r Risk, p [numClasses]float64) Risk {
	risk := riskOf(p)
	switch {
	case r.Level == LevelCrisis && !r.strong && cueRules[r.Rule] && risk < m.agreeAt:
		r.Level, r.Rule = LevelCheck, r.Rule+"_unconfirmed"
	case r.Level == LevelCrisis && r.strong && concernOf(p) < m.statementAt,
		r.Level == LevelEmergency && !r.explicit && concernOf(p) < m.ruleEmergencyAt:
		r.Level, r.Rule = LevelCheck, r.Rule+"_unconfirmed"
	}
	construct := r.Construct
	if r.Level < LevelCheck {
		construct = "classifier"
	}
	switch {
	case risk >= m.crisisAt:
		r = r.Raise(LevelCrisis, construct, "classifier")
	case risk >= m.checkAt:
		r = r.Raise(LevelCheck, construct, "classifier")
	}
	// An overdose or injury in progress the rules did not read as one: a
	// crisis whose risk the classifier reads partly as an emergency
	// ("i tok evrything in the medcine cabnet", "truck's running in the
	// closed garage and im sitting in it"); not when it reads someone
	// else ("my son took a bunch of pills" is told how to help him). Only a
	// crisis, not a check: raising checks too spent the budget of false
	// emergencies on harmless checks ("i take 30mg of lexapro"), and from
	// crises alone the same budget reads 95.2% of overdoses as emergencies
	// (cross-validated), where it read 92.0%.
	if r.Level >= LevelCrisis && r.Level < LevelEmergency && emergencyShare(p) >= m.emergencyAt && p[classOther] < m.otherAt {
		r = r.Raise(LevelEmergency, "overdose_in_progress", "classifier")
	}
	if p[classOther] >= m.otherAt {
		r = r.Raise(LevelOtherPerson, "other_person", "classifier")
	}
	return r
}

// Memory keeps each patient's recent cues so that they add up across
// messages (a hopeless message, then a means). It holds concept ids and
// times only, never text. It is safe for concurrent use.
type Memory struct {
	d  *Detector
	mu sync.Mutex
	// recent holds, by patient, the cues of their latest messages, oldest
	// first; mu must be held.
	recent map[string][]cueAt
}

type cueAt struct {
	at   time.Time
	cues conceptSet
}

// NewMemory returns an empty memory for d's window.
func (d *Detector) NewMemory() *Memory { return &Memory{d: d, recent: map[string][]cueAt{}} }

// Assess reads text from patient key at time now, adding up the cues of
// their recent messages within the window, and remembers this message's.
func (m *Memory) Assess(key, text string, now time.Time) Risk {
	r := m.d.Assess(text)
	m.mu.Lock()
	defer m.mu.Unlock()
	var kept []cueAt
	var before conceptSet
	for _, c := range m.recent[key] {
		if now.Sub(c.at) <= m.d.window.Age {
			kept = append(kept, c)
			before |= c.cues
		}
	}
	if r.cues != 0 {
		kept = append(kept, cueAt{at: now, cues: r.cues})
	}
	if n := len(kept) - m.d.window.Messages; n > 0 {
		kept = kept[n:]
	}
	if len(kept) == 0 {
		delete(m.recent, key)
	} else {
		m.recent[key] = kept
	}
	if before == 0 || r.Level >= LevelCrisis || r.Level == LevelOtherPerson {
		return r
	}
	// Desire or despair earlier, something concrete now (or the other way
	// round): together they are a crisis, as one message saying both would be.
	despair := conceptSet(1<<cDie | 1<<cSuicide | 1<<cEndSelf | 1<<cHopeless | 1<<cTrapped | 1<<cBurden | 1<<cBurdenStrong | 1<<cHarm)
	concrete := conceptSet(1<<cMeans | 1<<cPoison | 1<<cTiming | 1<<cDecision | 1<<cFarewell | 1<<cPrepare)
	if (before&despair != 0 && r.cues&concrete != 0) || (before&concrete != 0 && r.cues&despair != 0) {
		return r.Raise(LevelCrisis, "context", "context")
	}
	// Despair again and again: ask.
	if before&despair != 0 && r.cues&despair != 0 {
		return r.Raise(LevelCheck, "context", "context")
	}
	return r
}

// Forget drops a patient's cues (after erasure).
func (m *Memory) Forget(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.recent, key)
}
