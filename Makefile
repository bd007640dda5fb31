# The two commands of the README: `make demo` and `make test`. Both run the set-up first (idempotent).
BUILD    ?= build
TYPE     ?= Release
JOBS     ?= $(shell nproc)
PREFIX   ?= /usr/local
CMAKE_FLAGS ?=

.PHONY: all setup configure build demo test test-sanitize fuzz install bench clean

all: build

setup:
	@bash scripts/setup.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(TYPE) $(CMAKE_FLAGS)

configure: setup $(BUILD)/build.ninja

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# The main job: softmax vs the kernelized classification layer, side by side, with a learning-curve plot. Builds
# the library and the CLI only (tests and benchmarks are built by `make test` / `make bench`).
demo: configure
	cmake --build $(BUILD) -j $(JOBS) --target rkhs_cli
	./$(BUILD)/rkhs demo --out runs/demo

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer (a separate build folder; LibTorch itself is
# not instrumented). Any report fails the test that triggered it.
SANITIZE_BUILD ?= build-sanitize
test-sanitize: setup
	cmake -S . -B $(SANITIZE_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRKHS_SANITIZE=ON -DRKHS_BUILD_BENCH=OFF $(CMAKE_FLAGS)
	cmake --build $(SANITIZE_BUILD) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(SANITIZE_BUILD) --output-on-failure -j $(JOBS)

# libFuzzer on every file loader (clang + ASan + UBSan, build-fuzz/): FUZZ_SECONDS per target, JOBS at a time;
# one JSON line per target in bench/results/fuzz.jsonl. `make fuzz FUZZ_SECONDS=60` for a quick pass.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 600
fuzz:
	@bash scripts/setup.sh --fuzz
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRKHS_FUZZ=ON \
	  -DRKHS_BUILD_TESTS=OFF -DRKHS_BUILD_BENCH=OFF $(CMAKE_FLAGS)
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_all
	JOBS=$(JOBS) bash scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

bench: build
	bash bench/run_all.sh $(BUILD)

clean:
	rm -rf $(BUILD)
