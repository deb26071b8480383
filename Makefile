# Thin wrapper around CMake. `make run` and `make test` install what they need.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
CONFIG     ?= asterisk_config
JOBS       ?= $(shell nproc)

.PHONY: all build asan run test unit fuzz fuzz-build bench chaos clean lint deps

all: build

deps:
	@scripts/install-deps.sh build

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

asan:
	@scripts/install-deps.sh test
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DKV_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

run: build
	@$(BUILD)/kubevoxd -C $(CONFIG) --accounts
	exec $(BUILD)/kubevoxd -C $(CONFIG)

# Every test (unit, protocol, fuzz smoke) against the sanitizer build.
test: asan fuzz-build
	@scripts/run-tests.sh $(ASAN_BUILD) $(FUZZ_BUILD)

fuzz-build:
	@scripts/install-deps.sh test
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DKV_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)

# Long fuzzing run (default 10 minutes per target).
fuzz: fuzz-build
	@scripts/fuzz.sh $(FUZZ_BUILD) $${FUZZ_SECONDS:-600}

# Benchmarks against peers measured in the same run (see bench/README.md);
# `make build` also builds the benchmark programs into $(BUILD)/bench.
# The registration benchmark's Redis mode (cluster mode's state) runs last.
bench: build
	@scripts/install-deps.sh bench
	@bench/register.sh $(BUILD)
	@bench/calls.sh $(BUILD)
	@bench/media.sh $(BUILD)
	@MODE=redis bench/register.sh $(BUILD)

# Faults under load (bench/chaos.sh: replica, Redis master, front door),
# about 12 minutes; not part of `make test` or `make bench`.
chaos: build
	@scripts/install-deps.sh bench
	@bench/chaos.sh $(BUILD)

# clang-tidy (checks in .clang-tidy, every finding an error) and cppcheck
# over every C file in src/; fails on any finding, after both have run so
# that one pass shows everything.  clang-tidy needs only the compile
# commands of the sanitizer build, so that is configured, not built.
lint: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DKV_SANITIZE=ON \
	  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
	@st=0; \
	find src -name '*.c' | sort | \
	  xargs -P $(JOBS) -n 1 clang-tidy -p $(ASAN_BUILD) --quiet || st=1; \
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --suppress=missingIncludeSystem --inline-suppr -D_GNU_SOURCE -I src src || st=1; \
	exit $$st

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
