# enf — one Makefile: lib/libenf.a, then bin/enf-* from cmd/*/main.c.
# `make check` and `make demo` work on a fresh Debian 12 machine as root.

PREFIX  ?= /usr/local
DESTDIR ?=
MANDIR  ?= $(PREFIX)/share/man
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
SYSTEMDDIR ?= $(PREFIX)/lib/systemd/system
# make install strips with $(STRIP) (install -s); STRIP= installs unstripped.
STRIP   ?= strip
BUILD   ?= build
BIN     ?= bin
CC      ?= cc

PKGS = gcc make pkg-config libgcrypt20-dev libgpg-error-dev libgdbm-dev gdbmtool \
       libtss2-dev bats openssh-client openssl jq groff-base util-linux procps python3 \
       python3-cryptography git tmux bash-completion man-db dpkg-dev fakeroot lintian \
       swtpm swtpm-tools tpm2-tools iproute2 strace systemd \
       clang libclang-rt-14-dev time softhsm2 opensc libp11-kit-dev
BENCH_PKGS = softhsm2 opensc age hyperfine

GCRYPT_CFLAGS := $(shell libgcrypt-config --cflags 2>/dev/null)
GCRYPT_LIBS   := $(shell libgcrypt-config --libs 2>/dev/null || echo -lgcrypt -lgpg-error)
# --bind tpm (lib/tpm.c): ESAPI, the TCTI loader, marshalling, error texts.
TSS2_PKG      := tss2-esys tss2-tctildr tss2-mu tss2-rc
TSS2_CFLAGS   := $(shell pkg-config --cflags $(TSS2_PKG) 2>/dev/null)
TSS2_LIBS     := $(shell pkg-config --libs $(TSS2_PKG) 2>/dev/null || \
                   echo -ltss2-esys -ltss2-tctildr -ltss2-mu -ltss2-rc)
# Token keys (lib/p11.c): p11-kit's pkcs11.h only; the module is dlopen'ed,
# so there is no p11-kit (or any new) runtime library.
P11_CFLAGS    := $(shell pkg-config --cflags p11-kit-1 2>/dev/null || echo -I/usr/include/p11-kit-1)

CFLAGS  ?= -O2 -g
override CFLAGS += -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE -Wall -Wextra -Werror \
           -Wshadow -Wformat=2 -Wvla -fno-common -fstack-protector-strong \
           -D_FORTIFY_SOURCE=2 -MMD -MP -Ilib $(GCRYPT_CFLAGS) $(TSS2_CFLAGS) $(P11_CFLAGS) $(SANFLAGS)
override LDFLAGS += $(SANFLAGS) -Wl,-z,relro,-z,now
LDLIBS  += $(GCRYPT_LIBS) -lgpg-error -lgdbm $(TSS2_LIBS)

LIB_SRC  := $(sort $(wildcard lib/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIBENF   := $(BUILD)/libenf.a
CMDS     := $(sort $(notdir $(wildcard cmd/enf-*)))
PROGS    := $(CMDS:%=$(BIN)/%)
UNIT_SRC := $(sort $(wildcard t/unit/*.c))
UNITS    := $(UNIT_SRC:t/unit/%.c=$(BUILD)/t/unit/%)
# The bench's C helpers (the libgcrypt floor, a log generator, ...) are built
# with everything else, so that a change to lib/ that breaks them fails the
# build instead of the next bench run.
BENCH_SRC  := $(sort $(wildcard bench/*.c))
BENCH_PROGS := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
MAN      := $(sort $(wildcard man/*.[157]))

.PHONY: all deps bench-deps check test sanitize demo bench install uninstall deb clean lint-man lint-tests
all: $(PROGS) $(UNITS) $(BENCH_PROGS)

# Objects are kept: as intermediates of the pattern rules below, make would
# delete every main.o and unit test .o after a clean build, and rebuild them
# all on the next run.
.SECONDARY:

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIBENF): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN)/%: $(BUILD)/cmd/%/main.o $(LIBENF)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBENF) $(LDLIBS)

# The agent's clients load the TPM libraries (and OpenSSL's libcrypto under
# them: 1.4 ms of each client's start-up) only when an in-process unlock
# needs the TPM: lib/lazy/tss2.c stands in for -ltss2-*.
LAZY_TSS2 := $(BIN)/enf-sign $(BIN)/enf-seal
$(LAZY_TSS2): $(BUILD)/lib/lazy/tss2.o
$(LAZY_TSS2): LDLIBS := $(BUILD)/lib/lazy/tss2.o $(GCRYPT_LIBS) -lgpg-error -lgdbm

$(BUILD)/t/unit/%: $(BUILD)/t/unit/%.o $(LIBENF)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBENF) $(LDLIBS)

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(LIBENF)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBENF) $(LDLIBS)

# Test-only PKCS#11 modules (t/p11/), beside the unit tests so that a test
# finds them as $$ENF_UNIT/../p11/NAME.so: libfaulty.so passes calls to the
# module named by $$ENF_P11_REAL and breaks those $$ENF_P11_FAULT names (see
# t/p11/faulty.c); libnotp11.so is a shared object that is no module.  No
# $$(SANFLAGS): unsanitized programs (pkcs11-tool) must load them too.
P11_TEST_MODS := $(BUILD)/t/p11/libfaulty.so $(BUILD)/t/p11/libnotp11.so
$(BUILD)/t/p11/lib%.so: t/p11/%.c
	@mkdir -p $(@D)
	$(CC) -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fPIC -shared $(P11_CFLAGS) -o $@ $<
$(BUILD)/t/unit/p11: $(P11_TEST_MODS)
all: $(P11_TEST_MODS)

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
# The lints run before the suite, whose summary stays the last line.
check: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory lint-man lint-tests
	@ENF_BIN=$(CURDIR)/$(BIN) ENF_UNIT=$(CURDIR)/$(BUILD)/t/unit t/run
	@$(MAKE) --no-print-directory assurance-check

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
	@echo
	@echo "The programs are in $(CURDIR)/$(BIN). To use them from this shell:"
	@echo "    export PATH=\"$(CURDIR)/$(BIN):\$$PATH\""
	@echo "or install them (programs, man pages, completion) under $(PREFIX):"
	@echo "    make install"

bench: all bench-deps
	@for b in bench/*.sh; do ENF_BIN=$(CURDIR)/$(BIN) ENF_BUILD=$(CURDIR)/$(BUILD) $$b || exit 1; done

lint-man:
	@for m in $(MAN); do out=$$(LC_ALL=C groff -man -ww -z $$m 2>&1); \
	    if [ -n "$$out" ]; then echo "$$m: $$out"; exit 1; fi; done

# A check bats cannot see fail: errexit ignores a command negated with `!`,
# also after `;`, `&&` or `||` (write `run ! cmd`, or `run -N cmd` and
# check $$status).
lint-tests:
	@if grep -nE '(^|;|&&|\|\|)[[:space:]]*![[:space:]]' t/*.bats; then \
	    echo "lint-tests: a negated command above is ignored by errexit: use 'run ! cmd'"; \
	    exit 1; fi

# Man pages name files under the prefix; they say /usr/local in the source.
install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(if $(STRIP),-s --strip-program=$(STRIP)) $(PROGS) $(DESTDIR)$(PREFIX)/bin
	for s in 1 5 7; do install -d $(DESTDIR)$(MANDIR)/man$$s; \
	    for m in man/*.$$s; do [ -f "$$m" ] || continue; \
	        sed 's|/usr/local|$(PREFIX)|g' $$m >$(DESTDIR)$(MANDIR)/man$$s/$${m#man/} && \
	        chmod 0644 $(DESTDIR)$(MANDIR)/man$$s/$${m#man/} || exit 1; done; done
	install -d $(DESTDIR)$(PREFIX)/share/enf/policies
	install -m 0644 share/policies/* $(DESTDIR)$(PREFIX)/share/enf/policies
	install -d $(DESTDIR)$(COMPLETIONDIR)
	install -m 0644 share/completion/enf $(DESTDIR)$(COMPLETIONDIR)/enf
	for c in $(CMDS); do ln -sf enf $(DESTDIR)$(COMPLETIONDIR)/$$c; done
	if ls share/systemd/* >/dev/null 2>&1; then install -d $(DESTDIR)$(SYSTEMDDIR) && \
	    install -m 0644 share/systemd/* $(DESTDIR)$(SYSTEMDDIR); fi

# Removes exactly what install put there (the same variables).
uninstall:
	for c in $(CMDS); do rm -f $(DESTDIR)$(PREFIX)/bin/$$c $(DESTDIR)$(COMPLETIONDIR)/$$c; done
	rm -f $(DESTDIR)$(COMPLETIONDIR)/enf
	for m in $(MAN); do s=$${m##*.}; rm -f $(DESTDIR)$(MANDIR)/man$$s/$${m#man/}; done
	for f in share/policies/*; do rm -f $(DESTDIR)$(PREFIX)/share/enf/policies/$${f##*/}; done
	rmdir $(DESTDIR)$(PREFIX)/share/enf/policies $(DESTDIR)$(PREFIX)/share/enf 2>/dev/null || true
	for f in share/systemd/*; do [ -e "$$f" ] && rm -f $(DESTDIR)$(SYSTEMDDIR)/$${f##*/}; done; true

# A Debian package from a staged install (pkg/deb/build.sh says why).
deb: all
	@pkg/deb/build.sh $(BUILD)/deb

# ---- Assurance (issue 13): fuzzing, fault trials, stress, self-test builds,
# the conformance table.  `make check` runs the short forms (assurance-check);
# bench/fuzz.sh, bench/fault.sh and bench/stress.sh the long ones.
# A fuzz target is one file t/fuzz/NAME.c (seeds in t/fuzz/corpus/NAME/, an
# optional t/fuzz/NAME.dict); a fault trial is one line in t/fault/kill.sh.
FUZZ_CC       ?= clang
FUZZ_BUILD    ?= build/fuzz
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_SECONDS  ?= 60
FUZZ_RUNS     ?=
FUZZ_SMOKE    ?= 3
TRIALS        ?= 40
FAULT_SMOKE   ?= 16
STRESS_N      ?= 200
STRESS_SMOKE  ?= 5
FUZZ_TARGETS  := $(sort $(patsubst t/fuzz/%.c,%,$(wildcard t/fuzz/*.c)))
FUZZ_PROGS    := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz-%)
SELFTEST_KATS := $(shell sed -n 's/^\t{ "\([a-z0-9-]*\)", SELFTEST_[A-Z]*, kat_.*/\1/p' lib/selftest.c)
SELFTEST_DIR  := $(BUILD)/selftest-corrupt
ENV_TEST       = ENF_BIN=$(CURDIR)/$(BIN) ENF_UNIT=$(CURDIR)/$(BUILD)/t/unit

.PHONY: fuzz fuzz-build fuzz-smoke fault fault-smoke stress stress-smoke \
        selftest-corrupt conformance conformance-man assurance-check
fuzz-build:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) BIN=$(FUZZ_BUILD)/bin CC=$(FUZZ_CC) \
	    SANFLAGS="-fsanitize=fuzzer-no-link $(FUZZ_SAN)" CFLAGS="-O1 -g" $(FUZZ_BUILD)/libenf.a
	@$(MAKE) --no-print-directory $(FUZZ_PROGS)

$(FUZZ_BUILD)/fuzz-%: t/fuzz/%.c t/fuzz/fuzz.h t/fuzz/fixed.h $(FUZZ_BUILD)/libenf.a
	$(FUZZ_CC) -O1 -g -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE -Wall -Wextra -Werror -Ilib $(GCRYPT_CFLAGS) \
	    -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $< $(FUZZ_BUILD)/libenf.a $(LDLIBS)

# The p11 target's fake module (t/p11/fuzzmod.c), beside the target: a
# shared object p11_open can dlopen.  Sanitized, but without coverage.
$(FUZZ_BUILD)/fuzz-p11: $(FUZZ_BUILD)/p11mod.so
$(FUZZ_BUILD)/p11mod.so: t/p11/fuzzmod.c
	@mkdir -p $(@D)
	$(FUZZ_CC) -O1 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fPIC -shared $(FUZZ_SAN) \
	    $(P11_CFLAGS) -o $@ $<

fuzz: fuzz-build
	@FUZZ_RUNS=$(FUZZ_RUNS) t/fuzz/run $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)
fuzz-smoke: fuzz-build
	@FUZZ_RUNS= t/fuzz/run $(FUZZ_BUILD) $(FUZZ_SMOKE) $(FUZZ_TARGETS)

# Commands (names in t/fault/lib.sh) fault-smoke leaves out: none.
FAULT_SMOKE_SKIP ?=
fault: all
	@$(ENV_TEST) t/fault/kill.sh $(TRIALS)
	@$(ENV_TEST) t/fault/full.sh
fault-smoke: all
	@$(ENV_TEST) FAULT_SKIP="$(FAULT_SMOKE_SKIP)" t/fault/kill.sh $(FAULT_SMOKE)
	@$(ENV_TEST) FAULT_SKIP="$(FAULT_SMOKE_SKIP)" FAULT_FREE_KIB="0 8 24 64" t/fault/full.sh
stress: all
	@$(ENV_TEST) t/fault/stress.sh $(STRESS_N)
stress-smoke: all
	@$(ENV_TEST) t/fault/stress.sh $(STRESS_SMOKE)

# One build of enf-keygen and enf-sign per known-answer test, with that
# test's vector corrupted (never installed, never in bin/).
selftest-corrupt: all
	@for k in $(SELFTEST_KATS); do mkdir -p $(SELFTEST_DIR)/$$k; \
	    $(CC) $(CFLAGS) -DENF_SELFTEST_CORRUPT=\"$$k\" -c -o $(SELFTEST_DIR)/$$k/selftest.o lib/selftest.c || exit 1; \
	    for p in enf-keygen enf-sign; do $(CC) $(LDFLAGS) -o $(SELFTEST_DIR)/$$k/$$p \
	        $(BUILD)/cmd/$$p/main.o $(SELFTEST_DIR)/$$k/selftest.o $(LIBENF) $(LDLIBS) || exit 1; done; done
	@$(ENV_TEST) ENF_SELFTEST_BIN=$(CURDIR)/$(SELFTEST_DIR) bats --tap t/fault/selftest.bats </dev/null

conformance: all
	@$(ENV_TEST) t/conformance.sh t/conformance.tsv
	@if t/conformance.sh --man t/conformance.tsv | cmp -s - man/enf-conformance.7; then \
	    echo "ok - man/enf-conformance.7 is t/conformance.tsv's table"; else \
	    echo "not ok - man/enf-conformance.7 differs from t/conformance.tsv: make conformance-man"; exit 1; fi
conformance-man:
	@t/conformance.sh --man t/conformance.tsv >man/enf-conformance.7

# What `make check` adds after the suite; each part prints TAP lines that
# .ci/run counts into its last line.
assurance-check: fuzz-smoke fault-smoke stress-smoke selftest-corrupt conformance

clean:
	rm -rf $(BUILD) $(BIN)

# This build's dependency files only: build/san's and build/fuzz's, under
# the default BUILD, name other objects.
-include $(LIB_OBJ:.o=.d) $(CMDS:%=$(BUILD)/cmd/%/main.d) $(UNITS:=.d) $(BENCH_PROGS:=.d)
