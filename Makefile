# The two commands of the README: `make demo` and `make test`. Both run the set-up first (idempotent).
BUILD    ?= build
TYPE     ?= Release
JOBS     ?= $(shell nproc)
PREFIX   ?= /usr/local
CMAKE_FLAGS ?=

.PHONY: all setup configure build demo test install bench clean

all: build

setup:
	@bash scripts/setup.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(TYPE) $(CMAKE_FLAGS)

configure: setup $(BUILD)/build.ninja

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# The main job: softmax vs the kernelized classification layer, side by side, with a learning-curve plot.
demo: build
	./$(BUILD)/rkhs demo --out runs/demo

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

bench: build
	bash bench/run_all.sh $(BUILD)

clean:
	rm -rf $(BUILD)
