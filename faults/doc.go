// Package faults is Siyu's fault suite: tests that run the real binary
// (`siyu run`, or `siyu ingest` and `siyu serve` against a ClickHouse server
// and a Kafka broker the test owns) and inject the faults an operator and an
// attacker bring: kill -9 of ClickHouse, of ingest and of `siyu run`, an
// oversize record, bursts of poison records of every invalid class,
// concurrent bad and good pool requests, a hand-over right after adds, an
// ingest process that stops answering, two `siyu serve` replicas contesting
// claims and a kill -9 of the one that decides. Each asserts that nothing is lost or
// counted twice, that other tenants keep progressing, that /readyz tells the
// truth, and that recovery takes a bounded time, which it logs as
// "FIGURE <name> <value>" lines (docs/decisions.md, "Faults").
//
// The package holds no code but this comment: everything is in its tests.
// SIYU_FAULTS_BIN runs them against another build of siyu (an older one, to
// measure a before/after); otherwise TestMain builds ./cmd/siyu.
package faults
