# corio — the commands a user needs.  CMake does the real work underneath.
#   make          build the library, tests, examples and benchmarks
#   make test     build and run every test (ctest)
#   make demo     run the main job
#   make bench    run the benchmarks beside their peers
#   make install PREFIX=dir
#   make asan | tsan | aarch64 | ucontext   the extra builds CI runs
#   make fuzz FUZZ_SECONDS=30   the libFuzzer harnesses of fuzz/, briefly
#   make fuzz-long              each harness for 10 minutes, two at a time
#   make soak                   10,000 connections for 10 minutes per engine
BUILD  ?= build
PREFIX ?= /usr/local
JOBS   ?= $(shell nproc)
CMAKE_FLAGS ?=
FUZZ_SECONDS ?= 30

.PHONY: all deps test demo bench soak install asan tsan aarch64 ucontext fuzz fuzz-long clean format format-check

all: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) -- --no-print-directory

deps:
	@scripts/deps.sh build

test: all
	@ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# The demo shows the demo, not the build: CMake's progress goes to a log,
# printed only if the build fails.
demo: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) >$(BUILD)/build.log 2>&1 || \
	  { cat $(BUILD)/build.log; echo "demo: the build failed" >&2; exit 1; }
	@scripts/demo.sh $(BUILD)

bench: deps
	@scripts/deps.sh bench
	@cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build build-bench -j $(JOBS)
	@bench/run.sh build-bench
	@bench/echo/run.sh build-bench
	@CONFIG=photon bench/echo/run.sh build-bench
	@bench/http/run.sh build-bench
	@bench/fetch/run.sh build-bench
	@bench/redis/run.sh build-bench
	@bench/multicore/run.sh build-bench
	@bench/pg/run.sh build-bench
	@bench/pg/web.sh build-bench
	@bench/plot.sh build-bench docs/img

# 10,000 keep-alive connections for 10 minutes per engine, then memory
# after bursts of 15,000 (bench/soak/run.sh; about 25 minutes).
soak: deps
	@scripts/deps.sh bench
	@cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build build-bench -j $(JOBS)
	@bench/soak/run.sh build-bench

install: all
	@cmake --install $(BUILD) --prefix $(PREFIX)

asan:
	@scripts/deps.sh ci
	@$(MAKE) --no-print-directory test BUILD=build-asan \
	  CMAKE_FLAGS="-DCMAKE_C_COMPILER=clang -DCORIO_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS)"

tsan:
	@scripts/deps.sh ci
	@cmake -S . -B build-tsan -DCMAKE_C_COMPILER=clang -DCORIO_SANITIZE=thread -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-tsan -j $(JOBS)
	@TSAN_OPTIONS=atexit_sleep_ms=0 ctest --test-dir build-tsan --output-on-failure -L tsan -E '^(sigint|loops)$$'
	@# TSan holds a signal until the thread's next intercepted libc call;
	@# liburing enters the kernel directly, so the suites that send SIGINT
	@# (sigint, loops) run on epoll here.
	@TSAN_OPTIONS=atexit_sleep_ms=0 CORIO_ENGINE=epoll ctest --test-dir build-tsan --output-on-failure -R '^(sigint|loops)$$'

aarch64:
	@scripts/deps.sh ci
	@cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-aarch64 -j $(JOBS)
	@CORIO_TEST_SLOW=1 CORIO_TEST_QEMU=1 ctest --test-dir build-aarch64 --output-on-failure -j $(JOBS) -L core

ucontext:
	@cmake -S . -B build-ucontext -DCORIO_FORCE_UCONTEXT=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-ucontext -j $(JOBS) -- --no-print-directory
	@ctest --test-dir build-ucontext --output-on-failure -j $(JOBS) -L core

# fuzz/ is a CMake project of its own (clang, -fsanitize=fuzzer); each
# harness runs FUZZ_SECONDS on a copy of its corpus.
fuzz:
	@scripts/deps.sh ci
	@cmake -S fuzz -B build-fuzz -DCMAKE_C_COMPILER=clang $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-fuzz -j $(JOBS) -- --no-print-directory
	@fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

# Every harness for 10.5 minutes of wall time, two at a time (so each gets
# at least 10 CPU-minutes on 2 cores; 32 minutes in all): the figures
# issue 9 asks for, not a CI stage.
fuzz-long:
	@scripts/deps.sh ci
	@cmake -S fuzz -B build-fuzz -DCMAKE_C_COMPILER=clang $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-fuzz -j $(JOBS) -- --no-print-directory
	@FUZZ_PART=1/2 fuzz/run.sh build-fuzz 630 & \
	  FUZZ_PART=2/2 fuzz/run.sh build-fuzz 630; b=$$?; wait $$! && exit $$b

clean:
	rm -rf build build-asan build-tsan build-aarch64 build-ucontext build-bench build-fuzz

FORMAT_FILES = $(shell git ls-files 'include/*.h' 'src/*.[ch]' 'tests/*.[ch]' \
                 'examples/*.[ch]' 'bench/*.c' 'bench/*/*.c' 'tools/*.[ch]' 'fuzz/*.c')
format:
	clang-format -i $(FORMAT_FILES)

format-check:
	@clang-format --dry-run -Werror $(FORMAT_FILES)
