# enf — one Makefile: lib/libenf.a, then bin/enf-* from cmd/*/main.c.
# `make check` and `make demo` work on a fresh Debian 12 machine as root.

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
BIN     ?= bin
CC      ?= cc

PKGS = gcc make pkg-config libgcrypt20-dev libgpg-error-dev libgdbm-dev gdbmtool \
       bats openssh-client openssl jq groff-base util-linux procps python3 time
BENCH_PKGS = softhsm2 opensc age hyperfine

GCRYPT_CFLAGS := $(shell libgcrypt-config --cflags 2>/dev/null)
GCRYPT_LIBS   := $(shell libgcrypt-config --libs 2>/dev/null || echo -lgcrypt -lgpg-error)

CFLAGS  ?= -O2 -g
override CFLAGS += -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE -Wall -Wextra -Werror \
           -Wshadow -Wformat=2 -Wvla -fno-common -fstack-protector-strong \
           -D_FORTIFY_SOURCE=2 -MMD -MP -Ilib $(GCRYPT_CFLAGS) $(SANFLAGS)
override LDFLAGS += $(SANFLAGS) -Wl,-z,relro,-z,now
LDLIBS  += $(GCRYPT_LIBS) -lgpg-error -lgdbm

LIB_SRC  := $(sort $(wildcard lib/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIBENF   := $(BUILD)/libenf.a
CMDS     := $(sort $(notdir $(wildcard cmd/enf-*)))
PROGS    := $(CMDS:%=$(BIN)/%)
UNIT_SRC := $(sort $(wildcard t/unit/*.c))
UNITS    := $(UNIT_SRC:t/unit/%.c=$(BUILD)/t/unit/%)
MAN      := $(sort $(wildcard man/*.[157]))

.PHONY: all deps bench-deps check test sanitize demo bench install clean lint-man
all: $(PROGS) $(UNITS)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIBENF): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN)/%: $(BUILD)/cmd/%/main.o $(LIBENF)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBENF) $(LDLIBS)

$(BUILD)/t/unit/%: $(BUILD)/t/unit/%.o $(LIBENF)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBENF) $(LDLIBS)

# Installs what is missing when run as root; otherwise says what to run.
deps:
	@missing=$$(for p in $(PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
	    | grep -q 'install ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" -ne 0 ]; then \
	    echo "make deps: missing packages; run as root:"; \
	    echo "  apt-get update && apt-get install -y" $$missing; exit 1; fi; \
	echo "make deps: installing" $$missing; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null

bench-deps:
	@$(MAKE) --no-print-directory deps PKGS="$(BENCH_PKGS)"

# deps runs first and alone: the build's flags come from what it installs.
check: deps
	@$(MAKE) --no-print-directory all
	@ENF_BIN=$(CURDIR)/$(BIN) ENF_UNIT=$(CURDIR)/$(BUILD)/t/unit t/run

test: all
	@ENF_BIN=$(CURDIR)/$(BIN) ENF_UNIT=$(CURDIR)/$(BUILD)/t/unit t/run

sanitize: deps
	@$(MAKE) --no-print-directory BUILD=build/san BIN=build/san/bin \
	    SANFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	    CFLAGS="-O1 -g" all
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS=suppressions=$(CURDIR)/t/lsan.supp:print_suppressions=0 \
	    UBSAN_OPTIONS=print_stacktrace=1 \
	    ENF_BIN=$(CURDIR)/build/san/bin ENF_UNIT=$(CURDIR)/build/san/t/unit t/run

demo: deps
	@$(MAKE) --no-print-directory all
	@ENF_BIN=$(CURDIR)/$(BIN) share/demo.sh

bench: all bench-deps
	@for b in bench/*.sh; do ENF_BIN=$(CURDIR)/$(BIN) ENF_BUILD=$(CURDIR)/$(BUILD) $$b || exit 1; done

lint-man:
	@for m in $(MAN); do out=$$(LC_ALL=C groff -man -ww -z $$m 2>&1); \
	    if [ -n "$$out" ]; then echo "$$m: $$out"; exit 1; fi; done

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(PROGS) $(DESTDIR)$(PREFIX)/bin
	for s in 1 5 7; do install -d $(DESTDIR)$(PREFIX)/share/man/man$$s; \
	    for m in man/*.$$s; do [ -f "$$m" ] && install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man$$s; done; done
	install -d $(DESTDIR)$(PREFIX)/share/enf/policies
	install -m 0644 share/policies/* $(DESTDIR)$(PREFIX)/share/enf/policies

clean:
	rm -rf $(BUILD) $(BIN)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
