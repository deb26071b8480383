# Thin wrapper around CMake. `make run` and `make test` install what they need.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
CONFIG     ?= asterisk_config
JOBS       ?= $(shell nproc)

.PHONY: all build asan run test unit fuzz fuzz-build bench clean lint deps

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

bench: build
	@scripts/install-deps.sh bench
	@bench/register.sh $(BUILD)

lint: build
	@clang-tidy -p $(BUILD) --quiet src/*/*.c src/*.c
	@cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --suppress=missingIncludeSystem -I src src

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
