//go:build race

package safety_test

// underRace: the corpus tests train and read thousands of sentences in one
// goroutine; the race detector has nothing to find there and makes them ten
// times slower, so they run in the plain pass only.
const underRace = true
