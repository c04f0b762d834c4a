// Package faults is the fault-injection suite: each scenario streams orders through nginx
// into the real local stack (daprd sidecars, the Kafka-protocol broker, the bank, mailpit),
// breaks something on purpose while they flow, and then audits three ledgers: the bank's
// charges (no order charged twice), mailpit's messages (no order emailed twice) and every
// accepted order's final status (none lost). It also scans everything the run wrote for card
// numbers. FAULTS=full runs the long version (1,000 orders per scenario); the default is a
// short version for `make test`. See docs/RELIABILITY.md.
package faults
