# ember — the two commands a newcomer needs:
#   make demo   set up, build and run the main job
#   make test   set up, build and run every test
JOBS ?= $(shell nproc)
BIN := build/bin

.PHONY: all deps build build-asan build-cuda-check test test-fast test-asan fuzz demo clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake --preset default >/dev/null
	@cmake --build --preset default -j $(JOBS)

build-asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)

# CUDA backend compile check (no GPU needed, nvcc required): the library with its .cu files,
# the CUDA tools and the CUDA test objects, so the CUDA sources cannot rot. GPU runs:
# scripts/gpu-check.sh on a machine with a GPU.
CUDA_TEST_OBJS := $(foreach t,cuda_ops cuda_golden backend_registry,tests/CMakeFiles/ember_tests.dir/unit/$(t)_test.cc.o)
build-cuda-check: deps
	@cmake --preset cuda >/dev/null
	@cmake --build --preset cuda -j $(JOBS) --target ember bench_cuda make_random_gemma4 $(CUDA_TEST_OBJS)

# Full suite: optimized build, then the same tests under ASan/UBSan, then a short fuzz run.
test: build build-asan
	@ctest --preset default -j $(JOBS)
	@ctest --preset asan -j $(JOBS) -LE slow
	@$(MAKE) --no-print-directory fuzz
	@$(MAKE) --no-print-directory build-cuda-check

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
