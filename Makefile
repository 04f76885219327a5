# freshet: every target runs scripts/bootstrap first, so a fresh Debian 12 machine needs only
# `make demo` or `make test`.
BUILD_DIR ?= build
ASAN_DIR ?= build-asan
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
# ccache keys ignore where the checkout lives, so fresh clones (CI) reuse earlier compiles.
export CCACHE_BASEDIR ?= $(CURDIR)
export CCACHE_NOHASHDIR ?= true

.PHONY: all bootstrap configure build test test-unit test-slow test-asan demo bench format check-format tidy clean

all: build

bootstrap:
	@scripts/bootstrap

configure: bootstrap
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# Every test: unit tests and the suites that start throwaway PostgreSQL servers. Tests labelled
# `slow` (200 MB transactions) run with `make test-slow`.
test: build
	@ctest --test-dir $(BUILD_DIR) --output-on-failure --timeout 900 -j $(JOBS) -LE slow

test-unit: build
	@ctest --test-dir $(BUILD_DIR) --output-on-failure --timeout 900 -j $(JOBS) -L unit

test-slow: build
	@ctest --test-dir $(BUILD_DIR) --output-on-failure -L slow

# Every test again under AddressSanitizer + UndefinedBehaviorSanitizer, in its own build.
test-asan: bootstrap
	@cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DFRESHET_SANITIZE=ON \
	  -DFRESHET_BUILD_BENCH=OFF >/dev/null
	@cmake --build $(ASAN_DIR) -j $(JOBS)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(ASAN_DIR) --output-on-failure --timeout 900 -j $(JOBS) -LE slow

# Starts a throwaway PostgreSQL and runs `freshet doctor` against it.
demo: build
	@$(BUILD_DIR)/tests/support/pg-sandbox -- scripts/demo $(BUILD_DIR)

bench: build
	@bench/run $(BUILD_DIR)

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

check-format: bootstrap
	@git ls-files '*.cc' '*.h' | xargs clang-format --dry-run -Werror

# clang-tidy over every source (minutes on two cores; run before committing larger changes).
tidy: configure
	@git ls-files 'src/*.cc' 'tests/*.cc' 'bench/*.cc' | xargs -P $(JOBS) -n 4 clang-tidy -p $(BUILD_DIR) --quiet

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR)
