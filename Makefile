# ember — the two commands a newcomer needs:
#   make demo   set up, build and run the main job
#   make test   set up, build and run every test
JOBS ?= $(shell nproc)
BIN := build/bin

.PHONY: all deps build build-asan test test-fast test-asan fuzz demo clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake --preset default >/dev/null
	@cmake --build --preset default -j $(JOBS)

build-asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)

# Full suite: optimized build, then the same tests under ASan/UBSan, then a short fuzz run.
test: build build-asan
	@ctest --preset default -j $(JOBS)
	@ctest --preset asan -j $(JOBS) -LE slow
	@$(MAKE) --no-print-directory fuzz

test-fast: build
	@ctest --preset default -j $(JOBS)

fuzz: deps
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS)
	@bash scripts/run-fuzzers.sh build-fuzz 20

demo: build
	@bash scripts/demo.sh

clean:
	rm -rf build build-asan build-fuzz build-cuda
