# vg — one build for everything. Generated sources go to build/gen, objects to
# build/obj; nothing generated is ever written under src/ or grammar/.
#
#   make            build build/vg
#   make demo       install missing dependencies, build, run the demo example
#   make check      install missing dependencies, build, run every test
#   make sanitize   the test suite under ASan + UBSan (build/asan)
#   make fuzz       libFuzzer harnesses for FUZZ_SECONDS each (build/fuzz)
#   make valgrind   the unit tests and the golden runs under valgrind
#   make bench      benchmarks (bench/)
#   make install PREFIX=/usr/local

PREFIX  ?= /usr/local
BUILD   ?= build
CC      ?= cc
OPT     ?= -O2
SAN     ?=
PKGS     = openblas cmocka libedit json-c
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs openblas libedit json-c 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

VERSION := 0.1.0
WARN    = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS  ?= $(OPT) -g
# -fopenmp-simd: `#pragma omp simd` marks the kernel loops that must be
# vectorised (gcc's -O2 cost model skips loops of unknown length); it links
# no OpenMP runtime and starts no threads. -fno-trapping-math lets gcc turn
# the selects of vmath.h into vector blends (vg never traps on FP
# exceptions); no result changes, as neither flag reorders arithmetic.
ALL_CFLAGS = -std=c11 -fopenmp-simd -fno-trapping-math -D_XOPEN_SOURCE=700 -DVG_VERSION='"$(VERSION)"' \
             -DVG_STDLIB_DIR='"$(PREFIX)/share/vg/stdlib"' \
             -Iinclude -I$(BUILD)/gen $(PKG_CFLAGS) $(SAN) $(CFLAGS)
LDLIBS  = $(PKG_LIBS) -lz -lm

GEN      = $(BUILD)/gen
OBJ      = $(BUILD)/obj
LIB_SRC  = $(filter-out src/main.c,$(wildcard src/*.c src/ops/*.c))
# The executor and the kernels a second time, in double (include/vg/real.h),
# for `vg gradcheck`.
F64_SRC  = src/exec.c $(filter-out src/ops/registry.c,$(wildcard src/ops/*.c))
LIB_OBJ  = $(LIB_SRC:%.c=$(OBJ)/%.o) $(F64_SRC:%.c=$(OBJ)/f64/%.o) $(OBJ)/gen/lexer.o \
           $(OBJ)/gen/parser.o
TEST_SRC = $(wildcard tests/unit/test_*.c)
TEST_BIN = $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
HEADERS  = $(wildcard include/vg/*.h include/vg/*.def) $(GEN)/parser.h

.PHONY: all demo check deps test sanitize fuzz valgrind bench install clean

all: $(BUILD)/vg

deps:
	@sh .ci/deps.sh

# The set-up targets install what is missing first, then build in a fresh
# make so that pkg-config sees the newly installed packages.
demo: deps
	@$(MAKE) --no-print-directory $(BUILD)/vg
	VG_PATH= ./$(BUILD)/vg run examples/deep_sigmoid.vg

check: deps
	@$(MAKE) --no-print-directory test

test: $(BUILD)/vg $(TEST_BIN)
	@sh tests/run.sh $(BUILD)

$(GEN)/lexer.c: grammar/lexer.re $(GEN)/parser.h
	@mkdir -p $(GEN)
	re2c -W --no-generation-date --no-version -o $@ $<

$(GEN)/parser.c $(GEN)/parser.h &: grammar/parser.y
	@mkdir -p $(GEN)
	bison -Wall -Werror --defines=$(GEN)/parser.h -o $(GEN)/parser.c $<

$(OBJ)/gen/%.o: $(GEN)/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wall -Wextra -Werror -c -o $@ $<

$(OBJ)/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(WARN) -c -o $@ $<

$(OBJ)/f64/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(WARN) -DVG_REAL_DOUBLE -c -o $@ $<

$(BUILD)/libvg.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/vg: $(OBJ)/src/main.o $(BUILD)/libvg.a
	$(CC) $(SAN) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(BUILD)/libvg.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(WARN) -Wno-missing-prototypes -Itests/unit -o $@ $< $(BUILD)/libvg.a $(CMOCKA_LIBS) $(LDLIBS)

# The benchmark table (bench/run.sh, docs/performance.md). Builds what it
# needs and nothing else; the PyTorch columns need python3-torch.
$(BUILD)/bench/sgemm: bench/sgemm.c $(BUILD)/libvg.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(WARN) -o $@ $< $(BUILD)/libvg.a $(LDLIBS)

# The front end alone (issue 8): parse + elaborate, e.g. of gen_deep.sh's model.
$(BUILD)/bench/frontend: bench/frontend.c $(BUILD)/libvg.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(WARN) -o $@ $< $(BUILD)/libvg.a $(LDLIBS)

bench: $(BUILD)/vg $(BUILD)/bench/sgemm $(BUILD)/bench/frontend
	@sh bench/run.sh $(BUILD)

sanitize: deps
	@$(MAKE) --no-print-directory BUILD=build/asan OPT=-O1 \
	  SAN='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all' test

# libFuzzer harnesses (tests/fuzz/, docs/reliability.md): `make fuzz
# [FUZZ_SECONDS=60]` builds them with clang into build/fuzz and runs each.
FUZZ_SECONDS ?= 60
$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/libvg.a $(HEADERS)
	$(CC) $(ALL_CFLAGS) $(WARN) -fsanitize=fuzzer -o $@ $< $(BUILD)/libvg.a $(LDLIBS)

fuzz:
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS)

# The unit tests and every vg run of the golden and bad-program suites
# under valgrind: no definite leak, no invalid access (tests/valgrind.sh).
valgrind: $(BUILD)/vg $(TEST_BIN)
	@sh tests/valgrind.sh $(BUILD)

install: $(BUILD)/vg
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/vg/stdlib
	install -m 755 $(BUILD)/vg $(DESTDIR)$(PREFIX)/bin/vg
	install -m 644 stdlib/*.vg $(DESTDIR)$(PREFIX)/share/vg/stdlib/

clean:
	rm -rf build
