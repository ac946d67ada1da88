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
