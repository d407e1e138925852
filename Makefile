# healthmonitor: `make run` runs the monitor on config.yml; `make test` runs every test.
# Both install what is missing first (Debian packages; test servers for `make test`).
SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)
CONFIG ?= config.yml
SWIFT_TEST_FLAGS ?=

.PHONY: run build release test test-stress unit fuzz tsan services-start services-stop validate bench bench-instructions bench-vs-original bench-sinks bench-cluster compose-config clean

build:
	scripts/bootstrap.sh
	swift build

release:
	scripts/bootstrap.sh
	swift build -c release --static-swift-stdlib

run: release
	.build/release/healthmonitor run --config $(CONFIG)

validate: build
	.build/debug/healthmonitor validate --config $(CONFIG)

# Every test, with the real servers started (and stopped) by scripts/services.sh (the script
# installs what is missing and builds first, with its scratch files in a directory of its own).
test:
	scripts/test.sh $(SWIFT_TEST_FLAGS)

# `make test` twice while stress-ng keeps one core busy (RUNS=5 STRESS=--no-stress: five plain runs).
RUNS ?= 2
STRESS ?=
test-stress:
	scripts/test-stress.sh $(RUNS) $(STRESS)

# The start of a recipe line whose tests keep their scratch directories (under TMPDIR) in one
# directory of their own, removed when the line ends (as scripts/test.sh does for make test).
SCRATCH_TMPDIR = TMPDIR=$$(mktemp -d /tmp/hm-tests.XXXXXX); export TMPDIR; trap 'rm -rf "$$TMPDIR"' EXIT

# Unit tests only (no servers). The real-time tests (RealTimeTests: real deadlines) run in a
# second pass of their own, so no CPU-heavy test holds the two cooperative threads under them.
unit: build
	$(SCRATCH_TMPDIR); \
		swift test --skip IntegrationTests --skip RealTimeTests $(SWIFT_TEST_FLAGS) && \
		swift test --skip-build --filter RealTimeTests $(SWIFT_TEST_FLAGS)

# The config loader fuzzed: `healthmonitor validate` on seeded mutations of the example configs
# for FUZZ_SECONDS (scripts/fuzz-config.py; FUZZ_SEED=N for other inputs). `make test` runs 30 s.
FUZZ_SECONDS ?= 30
fuzz: build
	scripts/fuzz-config.py --seconds $(FUZZ_SECONDS) .build/debug/healthmonitor

# Unit tests under ThreadSanitizer, in their own scratch path so the debug build stays valid.
# Fails on any ThreadSanitizer report (halt_on_error, and any report in the output),
# scripts/tsan.supp says why each suppression is a false positive; TSAN_OPTIONS from the
# environment are kept (after ours). It also fails when a run ends without its summary (a
# crash) or hangs twice: a run whose output stops for 10 min is ended by scripts/watchdog.sh
# (which lists the tests left waiting) and run once more. Tests that fail their expectations
# under TSan are listed, not fatal: `make test` runs the same tests without it and must pass. On
# the host of 2026-12-04 (evening) TSan stopped every thread for 30 s or more at once (twelve
# tests' 30 s waits ran out together; another run hung with 18 tests waiting and nothing
# runnable), where the same code passed on the host before.
tsan:
	scripts/bootstrap.sh
	mkdir -p .build-tsan
	scripts/silent-host.sh up >/dev/null
	rm -f .build-tsan/tsan.log
	export TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/scripts/tsan.supp $$TSAN_OPTIONS"; \
		$(SCRATCH_TMPDIR); \
		unit() { scripts/watchdog.sh 600 .build-tsan/tsan.log \
			swift test --sanitize=thread -Xswiftc -DHM_TSAN --skip IntegrationTests --skip RealTimeTests --scratch-path .build-tsan $(SWIFT_TEST_FLAGS); }; \
		unit; rc=$$?; \
		if [ $$rc -eq 124 ]; then echo "make tsan: the run above hung; once more" >&2; unit; rc=$$?; fi; \
		[ $$rc -ne 124 ] || { echo "make tsan: hung twice" >&2; exit 1; }; \
		scripts/watchdog.sh 600 .build-tsan/tsan.log \
			swift test --sanitize=thread -Xswiftc -DHM_TSAN --skip-build --filter RealTimeTests --scratch-path .build-tsan $(SWIFT_TEST_FLAGS); \
		timed=$$?; [ $$timed -ne 124 ] || { echo "make tsan: the real-time tests hung" >&2; exit 1; }; \
		runs=$$(grep -a -c "Test run with [0-9]* test" .build-tsan/tsan.log); \
		[ "$$runs" -ge 2 ] || { echo "make tsan: a run ended without its summary (a crash?)" >&2; exit 1; }; \
		if [ $$rc -ne 0 ] || [ $$timed -ne 0 ]; then \
			echo "make tsan: tests that failed under ThreadSanitizer (not fatal; make test runs them without it):" >&2; \
			grep -a "failed after" .build-tsan/tsan.log >&2 || true; fi
	@! grep -q "WARNING: ThreadSanitizer" .build-tsan/tsan.log || { echo "make tsan: ThreadSanitizer reports in .build-tsan/tsan.log" >&2; exit 1; }

# The benchmarks install what they need themselves (scripts/bench-lib.sh, scripts/sinks-lib.sh).
# The benchmarks of the product: the release binary on generated configs, measured from outside,
# each as a ratio to a C floor measured in the same run (hostport, ping, download, memory, validate),
# then the rabbitmq and mongo notifiers against their C floors (bench-sinks), then the monitor's
# own work in instructions per result (bench-instructions).
bench:
	flock /tmp/hm-bench.lock scripts/bench-product.sh all
	flock /tmp/hm-bench.lock scripts/bench-sinks.sh $(SINK_COUNT)
	flock /tmp/hm-bench.lock scripts/bench-instructions.sh

# User-space instructions per hostport result under callgrind (500 checks, 60 s): a count that
# does not move with the host, for changes too small for the CPU benchmarks to see.
bench-instructions:
	flock /tmp/hm-bench.lock scripts/bench-instructions.sh

# The release binary beside the Python original it rewrites, on the same configs: 100, 1,000 and
# 10,000 hostport checks, CPU per check against the C floor, memory, context switches, idle.
# ORIGINAL: a checkout of clowder-framework/healthmonitor (or a git directory of one); its
# requirements go into a venv under /tmp.
ORIGINAL ?=
bench-vs-original:
	flock /tmp/hm-bench.lock scripts/bench-vs-original.sh "$(ORIGINAL)"

# The rabbitmq and mongo notifiers, sustained and in a burst, each as a ratio to its C floor
# (librabbitmq, libmongoc) measured in the same run (release build; starts the test servers
# it needs). SINK_COUNT: results per run.
SINK_COUNT ?= 30000
bench-sinks:
	flock /tmp/hm-bench.lock scripts/bench-sinks.sh $(SINK_COUNT)

# The distributed monitor: 5,000 remote hostport checks/s through two agents beside the
# standalone monitor in the same run (release build; starts the test broker if needed).
bench-cluster:
	scripts/services.sh start rabbitmq
	flock /tmp/hm-bench.lock scripts/bench-cluster.sh

# Validates docker-compose.yml (no Docker engine needed).
compose-config:
	docker-compose config --quiet

services-start:
	scripts/services.sh start

services-stop:
	scripts/services.sh stop

clean:
	rm -rf .build state
