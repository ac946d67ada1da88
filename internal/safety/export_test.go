package safety

// SameCluster reports whether two words share a cluster (fine or coarse).
func SameCluster(a, b string, fine bool) bool {
	m, err := loadClusters()
	if err != nil {
		return false
	}
	ca, oka := m[a]
	cb, okb := m[b]
	if !oka || !okb {
		return false
	}
	if fine {
		return ca.fine == cb.fine
	}
	return ca.coarse == cb.coarse
}

// ClusteredWords is how many words the embedded clusters hold.
func ClusteredWords() int {
	m, _ := loadClusters()
	return len(m)
}

// RulesAlone reads text with the clause rules only (no classifier).
func (d *Detector) RulesAlone(text string) Risk {
	nm := *d
	nm.model = nil
	return nm.Assess(text)
}

// IsCueRule reports whether rule is one whose crisis needs the
// classifier's agreement.
func IsCueRule(rule string) bool { return cueRules[rule] }

// TokenWords reads text into its words after the figures of speech are
// replaced, with the figures' keyword fast path (fast) and without it.
func (d *Detector) TokenWords(text string) (fast, slow []string) {
	for _, t := range d.tokens(text) {
		fast = append(fast, t.word)
	}
	all := *d
	all.ignore = nil
	for _, f := range d.ignore {
		all.ignore = append(all.ignore, figure{re: f.re})
	}
	for _, t := range all.tokens(text) {
		slow = append(slow, t.word)
	}
	return fast, slow
}

// Keywords exposes keywords for tests.
func Keywords(src string) []string { return keywords(src) }
