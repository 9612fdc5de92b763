# SPDX-License-Identifier: Apache-2.0
# tollgate top-level Makefile. One non-recursive make over the whole tree: the
# daemon, ctl, tests and fuzzers share objects (libtg.a), so a single graph
# rebuilds exactly what changed and parallelises across directories.
#
# Targets: all (default), check, run, bench, deb, fuzz, format, format-check,
# clean, help, deps. Knobs: V=1 WERROR=1 SANITIZE=1 (see mk/defs.mk).

include mk/defs.mk

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
SKELS     := $(patsubst bpf/%.bpf.c,$(BPF_OUT)/%.skel.h,$(BPF_SRCS))

# Everything but the programs' main files goes into one static library; each
# program and test links it and pulls only the objects it needs.
LIB_SRCS  := $(filter-out daemon/main.c ctl/main.c,\
	$(wildcard common/*.c daemon/*.c daemon/auth/*.c ctl/*.c))
LIB_OBJS  := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
LIBTG     := $(BUILD)/libtg.a

BENCH_SRCS := $(wildcard tests/load/*.c)
BINS      := $(BUILD)/tollgated $(BUILD)/tollgatectl $(BUILD)/tollgate-bench
# Example programs shipped in packaging/examples/ (tests run them too).
EXAMPLES  := $(BUILD)/tollgate-unix-authorizer
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(wildcard tests/unit/test_*.c))
BPF_TESTS := $(patsubst tests/bpf/%.c,$(BUILD)/tests/bpf/%,$(wildcard tests/bpf/test_*.c))
HELPERS   := $(patsubst tests/helpers/%.c,$(BUILD)/tests/helpers/%,$(wildcard tests/helpers/*.c))
FUZZERS   := $(patsubst tests/fuzz/%.c,$(BUILD)/tests/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

FUZZ_TIME ?= 60
FMT_FILES = $(shell find bpf common daemon ctl tests packaging -name '*.[ch]' 2>/dev/null)

.PHONY: hdrcheck all tests check run bench deb fuzz fuzzers format format-check clean help deps install
all: $(BINS) $(EXAMPLES)

include mk/rules.mk

$(LIBTG): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/tollgated: $(BUILD)/obj/daemon/main.o $(LIBTG)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tollgatectl: $(BUILD)/obj/ctl/main.o $(LIBTG)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tollgate-bench: $(patsubst %.c,$(BUILD)/obj/%.o,$(BENCH_SRCS)) $(LIBTG)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tollgate-unix-authorizer: $(BUILD)/obj/packaging/examples/unix-authorizer/unix_authorizer.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o $(LIBTG)
	$(call msg,LINK,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(PKG_LIBS)

$(BUILD)/tests/bpf/%: $(BUILD)/obj/tests/bpf/%.o $(LIBTG)
	$(call msg,LINK,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(PKG_LIBS)

$(BUILD)/tests/helpers/%: $(BUILD)/obj/tests/helpers/%.o $(LIBTG)
	$(call msg,LINK,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(LIBTG)
	$(call msg,LINK,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS)

tests: $(BINS) $(EXAMPLES) $(UNIT_TESTS) $(BPF_TESTS) $(HELPERS)



deps:
	$(Q)mk/deps.sh

# check: a warning-free plain build (tests included: -O2 finds other warnings),
# then the sanitizer build whose binaries
# every test runs against, then the fuzzers (seed corpora are replayed).
check: deps
	$(Q)$(MAKE) --no-print-directory WERROR=1 all tests
	$(Q)$(MAKE) --no-print-directory WERROR=1 SANITIZE=1 tests
	$(Q)$(MAKE) --no-print-directory WERROR=1 FUZZ=1 fuzzers
	$(Q)tests/run --build build/asan --fuzz build/fuzz

fuzzers: $(FUZZERS)

fuzz: deps
	$(Q)$(MAKE) --no-print-directory FUZZ=1 fuzzers
	$(Q)tests/fuzz/run-all build/fuzz $(FUZZ_TIME)

bench: deps
	$(Q)$(MAKE) --no-print-directory all $(HELPERS)
	$(Q)tests/load/run-bench build

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)packaging/demo/run build

deb: deps
	$(Q)packaging/make-deb

PREFIX ?= /usr/local
install: all
	install -D -m 0755 $(BUILD)/tollgated $(DESTDIR)$(PREFIX)/sbin/tollgated
	install -D -m 0755 $(BUILD)/tollgatectl $(DESTDIR)$(PREFIX)/bin/tollgatectl
	install -D -m 0755 $(BUILD)/tollgate-bench $(DESTDIR)$(PREFIX)/bin/tollgate-bench
	install -D -m 0755 $(BUILD)/tollgate-unix-authorizer \
		$(DESTDIR)$(PREFIX)/lib/tollgate/tollgate-unix-authorizer
	install -D -m 0755 packaging/lambda-host/tollgate-lambda-host \
		$(DESTDIR)$(PREFIX)/bin/tollgate-lambda-host
	install -D -m 0644 packaging/examples/demo-authorizer/index.js \
		$(DESTDIR)$(PREFIX)/share/tollgate/examples/demo-authorizer/index.js
	install -D -m 0644 packaging/tollgate.yaml $(DESTDIR)/etc/tollgate/tollgate.yaml

# Every header must compile on its own (conventions.md, header hygiene).
HDRS = $(shell find common daemon ctl -name '*.h' 2>/dev/null)
hdrcheck: $(SKELS)
	$(Q)fail=0; for h in $(HDRS); do \
		echo "#include \"$$h\"" | $(CC) $(ALL_CFLAGS) -Werror -x c -fsyntax-only - \
			|| { echo "hdrcheck: $$h does not compile on its own"; fail=1; }; \
	done; exit $$fail

format:
	$(Q)clang-format -i $(FMT_FILES)

format-check:
	$(Q)clang-format --dry-run -Werror $(FMT_FILES)

clean:
	$(Q)rm -rf build

help:
	@echo 'Targets:'
	@echo '  all           build tollgated, tollgatectl, tollgate-bench into build/ (default)'
	@echo '  check         install missing packages, build with -Werror, run every test'
	@echo '                (unit tests under ASan+UBSan, BPF, integration, fuzz corpora)'
	@echo '  run           install missing packages, build, start the demo appliance'
	@echo '  bench         build and run the benchmarks; results in build/bench/results.txt'
	@echo '  deb           build the Debian package into build/deb/'
	@echo '  fuzz          run each libFuzzer target for FUZZ_TIME seconds (default 60)'
	@echo '  hdrcheck      compile every header on its own'
	@echo '  format        clang-format the tree in place; format-check only checks'
	@echo '  install       install into DESTDIR/PREFIX (default /usr/local)'
	@echo '  deps          apt-get install what is missing (no-op when all is present)'
	@echo '  clean         remove build/'
	@echo 'Knobs: V=1 (show commands) WERROR=1 (warnings are errors) SANITIZE=1 (ASan+UBSan'
	@echo '       build in build/asan) FUZZ_TIME=N'

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
