# webhook-relay: the two commands are `make run` and `make test`; both install what is missing first.
SWIFT ?= swift

.PHONY: run test unit tsan test-compat deps deps-test deps-bench build release lint format bench bench-build instructions instructions-tracing soak fuzz chaos

## Run the relay with an embedded Kafka broker (webhook-relay dev).
run: deps
	$(SWIFT) build --product webhook-relay
	$(SWIFT) run --skip-build webhook-relay dev

## Build everything and run the whole test suite, then each fuzz target for 20 seconds.
test: deps-test
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	scripts/fuzz.sh 20

## The unit tests alone, for day-to-day work: no nginx, HAProxy, chromium, Go or JDK needed (the
## end-to-end suite is what they need).
unit: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --skip EndToEndTests

## The unit tests again under the thread sanitizer, in a build of their own (.build-tsan; about 8
## minutes the first time, 1 to 2 after). Any race it sees fails the run. One test at a time: ten
## times slower under the sanitizer, tests run side by side on two cores starve each other's tasks.
## Built in Swift 5 language mode with complete concurrency checking (plus Swift 6's bare regex
## literals): under -sanitize=thread, Swift 6.3 reports a data-race error in swift-otel's batch
## processors that it does not report without the sanitizer; in 5 mode that is a warning, which
## dependencies do not show, while our own targets still fail on every concurrency warning.
TSAN_FLAGS = --sanitize=thread --scratch-path .build-tsan -Xswiftc -swift-version -Xswiftc 5 \
	-Xswiftc -enable-bare-slash-regex -Xswiftc -strict-concurrency=complete
tsan: deps
	$(SWIFT) build --build-tests $(TSAN_FLAGS)
	$(SWIFT) test --skip-build $(TSAN_FLAGS) --skip EndToEndTests --no-parallel

## The whole test suite again with a current librdkafka (the confluent-kafka wheel's), not Debian's 2.0.2, and the Tansu broker tests.
test-compat: deps-test
	scripts/test-compat.sh

## The fuzz targets for an hour each (FUZZ_SECONDS to change it); see SECURITY.md.
FUZZ_SECONDS ?= 3600
fuzz: deps-test
	scripts/fuzz.sh $(FUZZ_SECONDS)

## The chaos test with many kill cycles (make test runs 8).
CHAOS_CYCLES ?= 200
chaos: deps-test
	$(SWIFT) build --build-tests
	CHAOS_CYCLES=$(CHAOS_CYCLES) $(SWIFT) test --skip-build --filter killLoop

## Install what running needs (librdkafka-dev, pkg-config) when missing.
deps:
	@./scripts/install-deps.sh run

## Install what the tests need too (nginx, HAProxy, chromium, Go, a JDK, the Python packages).
deps-test:
	@./scripts/install-deps.sh test

## Install what the benchmarks need too (valgrind, binutils).
deps-bench:
	@./scripts/install-deps.sh bench

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product webhook-relay

## The formatter in strict mode, every import declared in its target's manifest, and the console's
## JavaScript parsed by node.
lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Package.swift Benchmarks/Sources Benchmarks/Package.swift Fuzz/Sources Fuzz/Package.swift
	scripts/check-imports.py . Benchmarks Fuzz
	node --check Sources/Relay/Admin/Console/console.js

format:
	$(SWIFT) format --in-place --recursive Sources Tests Package.swift Benchmarks/Sources Benchmarks/Package.swift Fuzz/Sources Fuzz/Package.swift

## Benchmarks (see BENCHMARKS.md): every HTTP scenario with the ceiling, micro-benchmarks, buffer
## appends, the drain of a 1 GiB backlog, the replay of a 1 GiB archive and the instructions per
## request (callgrind). About 16 minutes on 2 cores.
bench: bench-build
	Benchmarks/.build/release/relay-bench suite
	Benchmarks/.build/release/relay-bench micro
	Benchmarks/.build/release/relay-bench buffer-append
	Benchmarks/.build/release/relay-bench buffer-append --keys 1 --records 400000
	Benchmarks/.build/release/relay-bench drain --records 1048576 --size 1024
	Benchmarks/.build/release/relay-bench archive-replay --records 1048576 --size 1024
	Benchmarks/.build/release/relay-bench instructions --body 1024
	Benchmarks/.build/release/relay-bench instructions --body 16384
	$(MAKE) instructions-tracing
	python3 Benchmarks/hostile_requests.py .build/release/webhook-relay

## Instructions per request on each path, counted by callgrind (repeatable on a busy machine).
instructions: bench-build
	Benchmarks/.build/release/relay-bench instructions --body 1024

## What tracing costs per request: off, every request traced, a tenth traced, the collector gone.
instructions-tracing: bench-build
	Benchmarks/.build/release/relay-bench instructions --body 1024 --scenarios normal,buffered,duplicate
	Benchmarks/.build/release/relay-bench instructions --body 1024 --scenarios normal,buffered,duplicate --tracing on
	Benchmarks/.build/release/relay-bench instructions --body 1024 --scenarios normal --tracing on \
		--set OTEL_TRACES_SAMPLER=parentbased_traceidratio --set OTEL_TRACES_SAMPLER_ARG=0.1
	Benchmarks/.build/release/relay-bench instructions --body 1024 --scenarios normal --tracing gone

## Ten minutes at a fixed rate, sampling the relay's RSS, open files and buffer size.
soak: bench-build
	Benchmarks/.build/release/relay-bench soak --duration 600 --rate 4000 --interval 30

bench-build: deps-bench
	$(SWIFT) build -c release --product webhook-relay
	cd Benchmarks && $(SWIFT) build -c release
