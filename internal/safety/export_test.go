package safety

import "strings"

// Explain lists each clause's concepts and the rule it gave (tuning aid).
func (d *Detector) Explain(text string) string {
	cls, toks := d.read(text)
	var b strings.Builder
	for i, cl := range cls {
		var ws []string
		for _, t := range toks[i] {
			ws = append(ws, t.stem)
		}
		var cs []string
		for c := concept(0); c < numConcepts; c++ {
			if cl.set.has(c) {
				cs = append(cs, conceptNames[c])
			}
		}
		j := judge(cl)
		b.WriteString("[" + strings.Join(ws, " ") + "] {" + strings.Join(cs, ",") + "} -> " + j.level.String() + " " + j.rule + "\n")
	}
	return b.String()
}

// Thresholds are the shipped classifier's thresholds (tuning aid).
func (d *Detector) Thresholds() (crisis, check, other float64) {
	return d.model.crisisAt, d.model.checkAt, d.model.otherAt
}
