# bbvault developer targets. `make test` is what CI runs (after `make lint`).
GO ?= go

.PHONY: build test test-short lint bench bench-smoke demo clean

build:
	$(GO) build -o bin/bbvault ./cmd/bbvault

# Installs the real servers and tools the tests use (PostgreSQL, MinIO, git,
# ...), then runs every test with the race detector.
test:
	bash scripts/install-test-deps.sh
	$(GO) test -race -count=1 -timeout 40m ./...

# No installs, no race detector: tests whose servers are missing are skipped
# (unless CI is set).
test-short:
	$(GO) test ./...

lint:
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt -l: these files need gofmt -w:"; echo "$$unformatted"; exit 1; \
	fi
	$(GO) vet ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Runs every benchmark once, to prove they still work.
bench-smoke:
	$(GO) test -run '^$$' -bench . -benchtime 1x ./...

demo:
	bash scripts/demo.sh

clean:
	rm -rf bin/ coverage.out coverage.html *.coverprofile
