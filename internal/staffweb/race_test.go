//go:build race

package staffweb_test

// raceBuild is set under the race detector: the browser tests then skip
// (they run in the pass without it; the console's handlers get the race
// detector through the other tests, which take the same actions).
const raceBuild = true
