package faq

// NewIndexExcluding builds an index leaving out the bank rows keep rejects,
// for cross-validation on the bank.
func NewIndexExcluding(kb *KB, syn Synonyms, p Params, keep func(row int) bool) *Index {
	return build(kb, syn, p, keep)
}
