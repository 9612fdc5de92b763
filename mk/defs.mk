# SPDX-License-Identifier: Apache-2.0
# Toolchains, flags and output paths shared by every rule (see mk/rules.mk).
# Knobs: V=1 (echo commands), WERROR=1 (-Werror for user code), SANITIZE=1
# (ASan+UBSan, output in build/asan), FUZZ=1 (clang, libFuzzer, output in build/fuzz).

CC        ?= cc
CLANG     ?= clang
LLVM_STRIP ?= llvm-strip
BPFTOOL   ?= bpftool
ARCH      := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

ifeq ($(FUZZ),1)
  BUILD ?= build/fuzz
  CC := $(CLANG)
else ifeq ($(SANITIZE),1)
  BUILD ?= build/asan
else
  BUILD ?= build
endif
# Skeletons do not depend on the user-space flags: every variant shares one copy.
BPF_OUT := build/bpf

WARN := -Wall -Wextra -Wundef -Wshadow -Wformat=2 -Wstrict-prototypes \
	-Wmissing-prototypes -Wno-unused-parameter -Wno-missing-field-initializers
ifneq ($(FUZZ),1)
  WARN += -Wformat-signedness -Wnull-dereference -Wduplicated-cond
endif
ifeq ($(WERROR),1)
  WARN += -Werror
endif

PKGS     := jansson msgpack wolfssl yaml-0.1 liburing libbpf
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lelf -lz -lpthread -lm

OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
ALL_CFLAGS := -std=gnu11 $(WARN) -fwrapv -D_GNU_SOURCE $(CFLAGS) \
	-I. -Icommon -Idaemon -Ibpf -I$(BPF_OUT) $(PKG_CFLAGS)
ALL_LDFLAGS := $(LDFLAGS)

ifeq ($(SANITIZE),1)
  SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
  ALL_CFLAGS += $(SAN)
  ALL_LDFLAGS += $(SAN)
endif
ifeq ($(FUZZ),1)
  SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
  ALL_CFLAGS += $(SAN) -fsanitize=fuzzer-no-link -DTG_FUZZING
  ALL_LDFLAGS += $(SAN)
endif

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	-fno-stack-protector -Ibpf \
	$(shell $(CLANG) -v -E - </dev/null 2>&1 | sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')

ifeq ($(V),1)
  Q :=
  msg = @true
else
  Q := @
  msg = @printf '  %-8s %s\n' "$(1)" "$(2)"
endif
