//go:build race

package conversation_test

// underRace: the measurement tests read thousands of sentences in one
// goroutine; the race detector has nothing to find there and makes them ten
// times slower, so they run in the plain pass only.
const underRace = true
