// Package slt runs the external sqllogictest corpora against the embedded
// engine as the top-level regression gate: sqlite's select1-5, evidence and
// random samples (and, as features land, RisingWave's e2e files). Records that
// fail for dialect reasons are listed in sqllogictest/known_failures.txt,
// which the runner enforces in both directions.
package slt
