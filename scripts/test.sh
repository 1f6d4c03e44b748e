#!/usr/bin/env bash
# Runs every test: vet, gofmt check, generated-code check, unit and
# integration tests (those needing PostgreSQL start a throwaway cluster).
set -euo pipefail
cd "$(dirname "$0")/.."

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt needed:"; echo "$unformatted"; exit 1
fi
go vet ./...
go test -count=1 -timeout 25m ./... 2>&1 | tee /tmp/sabotsql-test.log
