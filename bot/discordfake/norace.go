//go:build !race

package discordfake

// slowdown scales the fake's wall-clock deadlines (see race.go).
const slowdown = 1
