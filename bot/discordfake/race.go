//go:build race

package discordfake

// slowdown scales the fake's wall-clock deadlines under the race detector,
// which makes the code under test several times slower: a timing assertion
// must not fail because of the instrumentation. The adapter's real latency
// is measured by BenchmarkAckLatency, without it.
const slowdown = 4
