# Siyu's front door. `make help` lists the targets.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
GO    ?= go
BIN   := bin/siyu
export PATH := $(PATH):/usr/sbin

.DEFAULT_GOAL := help
.PHONY: help setup assets build run test test-short faults bench lint fmt chdb clean screenshots

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: ## install ClickHouse, kcat, Go modules and the front-end packages when missing
	@scripts/setup

assets: ## fetch the front-end packages (npm, pinned by console/web/package-lock.json)
	@scripts/assets

build: assets ## build bin/siyu
	$(GO) build -o $(BIN) ./cmd/siyu

run: setup build ## start everything on embedded defaults with a demo tenant (Ctrl-C stops)
	./$(BIN) run --demo

test: ## run every test (race detector on) against real ClickHouse 18.16, chDB 26.x and an embedded Kafka
	@scripts/setup --test
	SIYU_REQUIRE_CHDB=1 $(GO) test -race -count=1 -timeout 25m ./...

faults: ## the fault suite alone (kill -9, poison, bad requests, replicas) with its recovery figures
	@scripts/setup
	$(GO) test -count=1 -v -timeout 20m ./faults/ | grep -E '(FIGURE|^--- |^ok|^FAIL|Error)'

test-short: ## unit tests only (no servers)
	$(GO) test -count=1 -short ./...

bench: setup build ## run the benchmarks and print the table of figures (FIGURES=cdp,... picks groups; QUICK=1 is --quick)
	$(GO) test -count=1 -run '^$$' -bench . -benchtime $(if $(QUICK),200ms,2s) ./event ./ingest ./wecom ./cdp ./followup | grep -E '^(Benchmark|ok|PASS|FAIL)'
	$(GO) run ./bench --siyu $(BIN) $(if $(FIGURES),--figures $(FIGURES)) $(if $(QUICK),--quick)
	@echo; echo "Lighthouse (mobile) on the demo's sidebar and segment builder:"
	SIYU_LIGHTHOUSE=$(CURDIR)/.cache/lighthouse $(GO) test -count=1 -run 'TestLighthouse' -v ./console | grep -E '(FIGURE|^--- |^ok|^FAIL|Error)'

screenshots: ## photograph the console's main pages at phone and desktop width into screenshots/
	@scripts/setup --test
	SIYU_SCREENSHOTS=$(CURDIR)/screenshots $(GO) test -count=1 -run 'TestScreenshots' -v ./console | grep -E '(png|^--- |^ok|^FAIL)'

lint: ## go vet and a gofmt check
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || { gofmt -l .; echo "run: make fmt"; exit 1; }

fmt: ## format the code
	gofmt -w .

chdb: ## fetch chDB (current ClickHouse as a library) for the compatibility tests
	@scripts/fetch-chdb

clean: ## remove build output (keeps .siyu data)
	rm -rf bin
