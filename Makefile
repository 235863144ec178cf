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
       swtpm swtpm-tools tpm2-tools iproute2
BENCH_PKGS = softhsm2 opensc age hyperfine

GCRYPT_CFLAGS := $(shell libgcrypt-config --cflags 2>/dev/null)
GCRYPT_LIBS   := $(shell libgcrypt-config --libs 2>/dev/null || echo -lgcrypt -lgpg-error)
# --bind tpm (lib/tpm.c): ESAPI, the TCTI loader, marshalling, error texts.
TSS2_PKG      := tss2-esys tss2-tctildr tss2-mu tss2-rc
TSS2_CFLAGS   := $(shell pkg-config --cflags $(TSS2_PKG) 2>/dev/null)
TSS2_LIBS     := $(shell pkg-config --libs $(TSS2_PKG) 2>/dev/null || \
                   echo -ltss2-esys -ltss2-tctildr -ltss2-mu -ltss2-rc)

CFLAGS  ?= -O2 -g
override CFLAGS += -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE -Wall -Wextra -Werror \
           -Wshadow -Wformat=2 -Wvla -fno-common -fstack-protector-strong \
           -D_FORTIFY_SOURCE=2 -MMD -MP -Ilib $(GCRYPT_CFLAGS) $(TSS2_CFLAGS) $(SANFLAGS)
override LDFLAGS += $(SANFLAGS) -Wl,-z,relro,-z,now
LDLIBS  += $(GCRYPT_LIBS) -lgpg-error -lgdbm $(TSS2_LIBS)

LIB_SRC  := $(sort $(wildcard lib/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIBENF   := $(BUILD)/libenf.a
CMDS     := $(sort $(notdir $(wildcard cmd/enf-*)))
PROGS    := $(CMDS:%=$(BIN)/%)
UNIT_SRC := $(sort $(wildcard t/unit/*.c))
UNITS    := $(UNIT_SRC:t/unit/%.c=$(BUILD)/t/unit/%)
MAN      := $(sort $(wildcard man/*.[157]))

.PHONY: all deps bench-deps check test sanitize demo bench install uninstall deb clean lint-man lint-tests
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
# The lints run before the suite, whose summary stays the last line.
check: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory lint-man lint-tests
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

clean:
	rm -rf $(BUILD) $(BIN)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
