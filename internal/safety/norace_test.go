//go:build !race

package safety_test

const underRace = false
