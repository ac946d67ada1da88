//go:build !race

package conversation_test

const underRace = false
