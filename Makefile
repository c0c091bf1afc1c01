# vg — one build for everything. Generated sources go to build/gen, objects to
# build/obj; nothing generated is ever written under src/ or grammar/.
#
#   make            build build/vg
#   make demo       install missing dependencies, build, run the demo example
#   make check      install missing dependencies, build, run every test
#   make check-slurm  vg plan's jobs on a real single-node Slurm (as root)
#                   (T=PATTERN: only the suites or tests it names, tests/README.md)
#   make check-torch  vg's report metrics against PyTorch's on vg's saved weights
#   make bless      rewrite the golden outputs from the current ones (T= too)
#   make sanitize   the test suite under ASan + UBSan (build/asan)
#   make fuzz       libFuzzer harnesses for FUZZ_SECONDS each (build/fuzz)
#   make valgrind   the unit tests and the golden runs under valgrind
#   make bench      benchmarks (bench/)
#   make install PREFIX=/usr/local [DESTDIR=…]   (make uninstall: the same files)
#   make deb        build/vg_VERSION_ARCH.deb (packaging/deb.sh)
#   make check-deb  build, lint, install, use and purge the .deb (as root)

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
             -Iinclude -I$(BUILD)/gen $(PKG_CFLAGS) $(SAN) $(CFLAGS)
# libdnnl (Debian's oneDNN, no pkg-config file) runs float32 convolutions;
# its threads are OpenMP's, whose count vg sets (src/blas.c), hence -lgomp.
LDLIBS  = $(PKG_LIBS) -ldnnl -lgomp -lz -lm

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

.PHONY: all demo check check-deb check-slurm check-torch bless deps test sanitize fuzz valgrind bench man install \
        uninstall deb clean

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

# T=PATTERN runs only the suites or tests PATTERN names (tests/run.sh).
T ?=
# A real Slurm (slurmctld, slurmd and munged on this machine, started and
# stopped by the test) runs the jobs of `vg plan --engine slurm`; its
# packages are installed here rather than for every `make check`.
check-slurm: deps
	@sh .ci/deps.sh slurm
	@$(MAKE) --no-print-directory $(BUILD)/vg
	@sh tests/slurm/run.sh $(BUILD)/vg

# The report's metrics recomputed by PyTorch from the weights vg saved, on
# the same probe batch (tests/torch); python3-torch is installed here
# rather than for every `make check`.
check-torch: deps
	@sh .ci/deps.sh torch
	@$(MAKE) --no-print-directory $(BUILD)/vg
	@sh tests/torch/run.sh $(BUILD)/vg

test: $(BUILD)/vg $(TEST_BIN) man
	@sh tests/run.sh $(BUILD) '$(T)'

# Re-blesses the goldens after an intended change of output: only the
# expected outputs are written, and each file changed is listed.
bless: $(BUILD)/vg
	@BLESS=1 sh tests/run.sh $(BUILD) '$(T)'

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
	$(CC) $(SAN) $(LDFLAGS) -o $@ $^ $(LDLIBS)

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

# A convolution's training step through oneDNN against im2col + sgemm, on
# the shapes of bench/m6_cnn.vg (docs/performance.md).
$(BUILD)/bench/conv_dnnl: bench/conv_dnnl.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(WARN) -o $@ $< $(LDLIBS)

bench: $(BUILD)/vg $(BUILD)/bench/sgemm $(BUILD)/bench/frontend $(BUILD)/bench/conv_dnnl
	@sh bench/run.sh $(BUILD)

sanitize: deps
	@VG_SANITIZE=1 $(MAKE) --no-print-directory BUILD=build/asan OPT=-O1 \
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

# Man pages: scdoc sources in docs/man, roff in build/man.
MAN_SRC = $(wildcard docs/man/*.scd)
MAN     = $(MAN_SRC:docs/man/%.scd=$(BUILD)/man/%)
man: $(MAN)
$(BUILD)/man/%: docs/man/%.scd
	@mkdir -p $(dir $@)
	scdoc <$< >$@.tmp && mv $@.tmp $@

# What `make install` installs: for each NAME of INSTALLS, the files
# NAME_FILES go to the folder NAME_DIR (under DESTDIR), with the mode
# NAME_MODE (default 644). `make uninstall` removes exactly these files,
# then the folders only vg uses. To install more, add a NAME to INSTALLS
# with its _FILES and _DIR. No file depends on PREFIX: vg finds its stdlib
# from its own path, so one build installs anywhere.
bindir     ?= $(PREFIX)/bin
datadir    ?= $(PREFIX)/share
mandir     ?= $(datadir)/man
docdir     ?= $(datadir)/doc/vg
bashcompdir ?= $(datadir)/bash-completion/completions
zshcompdir ?= $(datadir)/zsh/site-functions
# Editors (docs/editors.md): Vim's and Neovim's system-wide runtime
# folders, Emacs's site-lisp, and a VS Code extension folder to link into
# ~/.vscode/extensions (VS Code has no system-wide one).
vimdir     ?= $(datadir)/vim/vimfiles
nvimdir    ?= $(datadir)/nvim/site
emacsdir   ?= $(datadir)/emacs/site-lisp
vscodedir  ?= $(datadir)/vg/vscode
INSTALLS = bin stdlib man1 man7 doc examples bashcomp zshcomp \
           vimsyn vimftd vimftp nvimsyn nvimftd nvimftp emacs vscode vscodesyn
bin_FILES      = $(BUILD)/vg
bin_DIR        = $(bindir)
bin_MODE       = 755
stdlib_FILES   = $(wildcard stdlib/*.vg)
stdlib_DIR     = $(datadir)/vg/stdlib
man1_FILES     = $(filter %.1,$(MAN))
man1_DIR       = $(mandir)/man1
man7_FILES     = $(filter %.7,$(MAN))
man7_DIR       = $(mandir)/man7
doc_FILES      = README.md docs/language.md docs/report.md docs/editors.md
doc_DIR        = $(docdir)
examples_FILES = $(wildcard examples/*.vg)
examples_DIR   = $(docdir)/examples
bashcomp_FILES = editors/bash-completion/vg
bashcomp_DIR   = $(bashcompdir)
zshcomp_FILES  = editors/zsh/_vg
zshcomp_DIR    = $(zshcompdir)
vimsyn_FILES   = editors/vim/syntax/vg.vim
vimsyn_DIR     = $(vimdir)/syntax
vimftd_FILES   = editors/vim/ftdetect/vg.vim
vimftd_DIR     = $(vimdir)/ftdetect
vimftp_FILES   = editors/vim/ftplugin/vg.vim
vimftp_DIR     = $(vimdir)/ftplugin
nvimsyn_FILES  = $(vimsyn_FILES)
nvimsyn_DIR    = $(nvimdir)/syntax
nvimftd_FILES  = $(vimftd_FILES)
nvimftd_DIR    = $(nvimdir)/ftdetect
nvimftp_FILES  = $(vimftp_FILES)
nvimftp_DIR    = $(nvimdir)/ftplugin
emacs_FILES    = editors/emacs/vg-mode.el
emacs_DIR      = $(emacsdir)
vscode_FILES   = editors/vscode/package.json editors/vscode/language-configuration.json
vscode_DIR     = $(vscodedir)
vscodesyn_FILES = editors/vscode/syntaxes/vg.tmLanguage.json
vscodesyn_DIR  = $(vscodedir)/syntaxes
# Folders that hold nothing but vg's files, removed by `make uninstall`.
VG_DIRS = $(datadir)/vg/stdlib $(vscodedir)/syntaxes $(vscodedir) $(datadir)/vg \
          $(docdir)/examples $(docdir)

# scdoc makes the man pages; where it is missing (`make deps` installs it)
# `make install` installs everything else and says so.
SCDOC  := $(shell command -v scdoc 2>/dev/null)
NO_MAN  = $(if $(SCDOC),,$(MAN))
install_files = $(filter-out $(NO_MAN),$($(1)_FILES))

install: $(foreach s,$(INSTALLS),$(call install_files,$(s)))
	@$(if $(NO_MAN),echo "vg: scdoc is not installed: the man pages are not built nor installed" >&2)
	@set -e; $(foreach s,$(INSTALLS),$(if $(call install_files,$(s)),\
	  echo "install $(call install_files,$(s)) -> $(DESTDIR)$($(s)_DIR)"; \
	  install -d $(DESTDIR)$($(s)_DIR); \
	  install -m $(or $($(s)_MODE),644) $(call install_files,$(s)) $(DESTDIR)$($(s)_DIR)/;))

uninstall:
	rm -f $(foreach s,$(INSTALLS),$(addprefix $(DESTDIR)$($(s)_DIR)/,$(notdir $($(s)_FILES))))
	for d in $(VG_DIRS); do [ ! -d "$(DESTDIR)$$d" ] || rmdir "$(DESTDIR)$$d"; done

# The Debian package, built from a hardened build of its own (the flags of
# dpkg-buildflags) in build/deb; packaging/ holds its control files.
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null)
DEB       = $(BUILD)/vg_$(VERSION)_$(DEB_ARCH).deb
deb: deps
	@sh packaging/deb.sh $(VERSION) $(BUILD)/deb $(DEB)

check-deb: deb
	@sh tests/deb.sh $(DEB)

clean:
	rm -rf build
