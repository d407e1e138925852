import Testing

/// The tests that must use real time: real ICMP and TCP deadlines, cancellation of blocked
/// work, a scheduler whose checks really sleep. Everything else runs on `ManualClock` or asserts
/// order and causality.
///
/// They run one at a time, in a pass of their own after the other unit tests (`make unit`,
/// `make tsan`, `scripts/test.sh`), so no CPU-heavy test holds the cooperative threads under
/// them: next to the property tests, a 1 s deadline once took 10.8 s under ThreadSanitizer.
/// Each bound is either causal (a deadline is never early) or far from what a broken
/// implementation would show (well under the 30 s timeout a missing cancellation would wait
/// for), so they hold on a loaded two-core machine
/// (`scripts/test-stress.sh`). Each file adds its own nested suite in an extension, so the tests
/// stay beside the others of their type.
@Suite(.serialized) enum RealTimeTests {}
