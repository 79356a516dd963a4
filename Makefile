# webhook-relay: the two commands are `make run` and `make test`; both install what is missing first.
SWIFT ?= swift

.PHONY: run test deps build release lint format

## Run the relay with an embedded Kafka broker (webhook-relay dev).
run: deps
	$(SWIFT) build --product webhook-relay
	$(SWIFT) run --skip-build webhook-relay dev

## Build everything and run the whole test suite.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

## Install system packages (librdkafka-dev, pkg-config, curl) when missing.
deps:
	@./scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product webhook-relay

lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Package.swift Benchmarks/Sources Benchmarks/Package.swift

format:
	$(SWIFT) format --in-place --recursive Sources Tests Package.swift Benchmarks/Sources Benchmarks/Package.swift
