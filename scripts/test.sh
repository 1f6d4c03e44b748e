#!/usr/bin/env bash
# Runs every test: gofmt check, vet, unit and integration tests (those needing
# PostgreSQL start a throwaway cluster; the client matrix needs the programs
# tests/clients/install.sh installs), then the sqllogictest corpora, whose
# per-corpus pass counts are printed.
set -euo pipefail
cd "$(dirname "$0")/.."

# Prerequisites (PostgreSQL 15, client programs): installed only if missing.
bash scripts/install-test-deps.sh >/dev/null

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt needed:"; echo "$unformatted"; exit 1
fi
go vet ./...
go test -count=1 -timeout 25m $(go list ./... | grep -v '/tests/slt$')
# The corpora gate, verbose enough to show the pass counts per corpus.
go test -count=1 -timeout 15m -v ./tests/slt 2>&1 | grep -E '^(corpus |--- |=== RUN|ok |FAIL|PASS|panic)' | grep -v '^=== RUN'
