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

# The benchmark harness (bench/README.md): bbvault beside restic and the DIY
# scripts on a generated 3 GiB home and 1 GiB database, each to a local
# repository and to MinIO; prints a table, writes JSON and Markdown under
# bench/results/. Extra harness flags go in BENCH_FLAGS (e.g.
# BENCH_FLAGS='--profile medium'). Then the Go benchmarks.
bench: build
	$(GO) run ./bench/cmd/benchrun --profile full $(BENCH_FLAGS)
	$(GO) test -run '^$$' -bench . -benchmem ./...

# The harness on tiny data, to prove it runs end to end (it asserts nothing
# about speed; scenarios bbvault cannot run yet are reported n/a), then
# every Go benchmark once, to prove they still work.
bench-smoke: build
	$(GO) run ./bench/cmd/benchrun --profile smoke $(BENCH_FLAGS)
	$(GO) test -run '^$$' -bench . -benchtime 1x ./...

demo:
	bash scripts/demo.sh

clean:
	rm -rf bin/ coverage.out coverage.html *.coverprofile
