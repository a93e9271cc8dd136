# pyebpf build. `make` builds build/pyebpf; `make test` runs every test;
# `make demo` profiles demo/demo.py into demo.svg. V=1 shows full commands.
# SANITIZE=1 builds the userspace with ASan+UBSan into build-san/.

.DELETE_ON_ERROR:
.SECONDARY:
.SUFFIXES:

ARCH ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
ifeq ($(SANITIZE),1)
BUILD ?= build-san
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD ?= build
SAN_FLAGS :=
endif

CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
PYTHON ?= python3

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

VMLINUX_DIR := vmlinux/$(ARCH)
WARNINGS := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wformat=2 -Wno-unused-parameter -Wvla
CFLAGS ?= -g -O2
USER_CFLAGS := $(CFLAGS) -std=gnu11 $(WARNINGS) $(SAN_FLAGS) -D_GNU_SOURCE \
	-Iinclude -Iuser -I$(BUILD) -MMD -MP
USER_LDLIBS := -lbpf -lelf -lz -lm -lcurl -lmicrohttpd -lpthread
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	-I$(VMLINUX_DIR) -Iinclude -Ibpf -MMD -MP

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

# Every user module but the entry point goes into a library the unit tests
# link against, so a test needs no Makefile change.
LIB_SRCS := $(filter-out user/main.c,$(wildcard user/*.c))
LIB_OBJS := $(patsubst user/%.c,$(BUILD)/user/%.o,$(LIB_SRCS))
LIB := $(BUILD)/libpyebpf.a
BIN := $(BUILD)/pyebpf

BENCH_BIN := $(BUILD)/bench-sampler

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all deps test unit-test consumer-test integration-test check-generated demo bench clean format \
	install uninstall

all: $(BIN)

deps:
	$(Q)tools/install-deps.sh

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c | $(BUILD)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# Only the sampler module includes the skeleton, but every object is
# ordered after it so a fresh parallel build never races the generator.
$(BUILD)/user/%.o: user/%.c | $(BUILD)/user $(SKELS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

# Syscall names come from the build's own <asm/unistd.h> (linux-libc-dev),
# generated into the build directory, never committed; the .d file remakes
# the table when those headers change.
$(BUILD)/syscall_table.h: tools/gen_syscall_table.sh
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D) && CC="$(CC)" tools/gen_syscall_table.sh $@
$(BUILD)/user/syscall_names.o: $(BUILD)/syscall_table.h
-include $(BUILD)/syscall_table.d

# --- pprof: protobuf-c code generated from proto/*.proto ---------------------
# protoc-c writes $(BUILD)/proto/NAME.pb-c.{c,h} (never committed); one run
# makes both, so the pattern rule has both targets. The generated objects go
# into the library (hence before the $(LIB) rule reads LIB_OBJS) and
# libprotobuf-c into every link. The modules that include a generated header
# depend on it, so a fresh `make -j` generates it before compiling them.
PROTO_SRCS := $(wildcard proto/*.proto)
PROTO_HDRS := $(patsubst proto/%.proto,$(BUILD)/proto/%.pb-c.h,$(PROTO_SRCS))
PROTO_OBJS := $(patsubst proto/%.proto,$(BUILD)/proto/%.pb-c.o,$(PROTO_SRCS))
LIB_OBJS += $(PROTO_OBJS)
USER_CFLAGS += -I$(BUILD)/proto
USER_LDLIBS += -lprotobuf-c
PROTOC_C ?= protoc-c

$(BUILD)/proto/%.pb-c.c $(BUILD)/proto/%.pb-c.h: proto/%.proto
	$(call msg,PROTOC-C,$@)
	$(Q)mkdir -p $(@D) && $(PROTOC_C) --proto_path=proto --c_out=$(@D) $<

$(BUILD)/proto/%.pb-c.o: $(BUILD)/proto/%.pb-c.c $(BUILD)/proto/%.pb-c.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

$(BUILD)/user/pprof_output.o $(BUILD)/tests/test_pprof_output.o: $(PROTO_HDRS)
# --- end pprof ---------------------------------------------------------------

# --- flame graph (flamegraph/) ----------------------------------------------
# The SVG flame graph renderer is a library of its own, independent of the
# profiler: build/pyebpf, the unit tests and the standalone
# build/pyebpf-flamegraph link build/libflamegraph.a. No float contraction,
# so colours are the same bytes on every architecture.
FG_SRCS := $(filter-out flamegraph/main.c,$(wildcard flamegraph/*.c))
FG_OBJS := $(patsubst flamegraph/%.c,$(BUILD)/flamegraph/%.o,$(FG_SRCS))
FG_LIB := $(BUILD)/libflamegraph.a
FG_BIN := $(BUILD)/pyebpf-flamegraph
FG_CFLAGS := $(CFLAGS) -std=gnu11 $(WARNINGS) $(SAN_FLAGS) -D_GNU_SOURCE -ffp-contract=off \
	-Iflamegraph -MMD -MP
USER_CFLAGS += -Iflamegraph

all: $(FG_BIN)

$(BUILD)/flamegraph/%.o: flamegraph/%.c | $(BUILD)/flamegraph
	$(call msg,CC,$@)
	$(Q)$(CC) $(FG_CFLAGS) -c $< -o $@

$(FG_LIB): $(FG_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FG_BIN): $(BUILD)/flamegraph/main.o $(FG_LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(SAN_FLAGS) $^ -lm -o $@

$(BUILD)/flamegraph:
	$(Q)mkdir -p $@

-include $(FG_OBJS:.o=.d) $(BUILD)/flamegraph/main.d
# --- end flame graph ---------------------------------------------------------

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN): $(BUILD)/user/main.o $(LIB) $(FG_LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(SAN_FLAGS) $^ $(USER_LDLIBS) -o $@

$(BUILD)/tests/%.o: tests/unit/%.c | $(BUILD)/tests $(SKELS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -Itests/unit -c $< -o $@

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(LIB) $(FG_LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(SAN_FLAGS) $^ -lcmocka $(USER_LDLIBS) -o $@

$(BUILD)/bench/%.o: bench/%.c | $(BUILD)/bench $(SKELS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

$(BENCH_BIN): $(BUILD)/bench/bench_sampler.o $(LIB) $(FG_LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(SAN_FLAGS) $^ $(USER_LDLIBS) -o $@

$(BUILD)/bpf $(BUILD)/user $(BUILD)/tests $(BUILD)/bench:
	$(Q)mkdir -p $@

unit-test: $(UNIT_BINS)
	$(Q)tests/run-unit.sh $(UNIT_BINS)

integration-test: $(BIN)
	$(Q)PYEBPF=$(abspath $(BIN)) $(PYTHON) tests/integration/run.py

# the generated tables and fixtures match what their generators make from
# the installed CPython builds
check-generated:
	$(Q)$(PYTHON) tools/gen_python_layouts.py --check
	$(Q)$(PYTHON) tools/gen_linetable_fixtures.py --check
	@echo "generated files are up to date"

# our outputs read back by the programs people open them with (go tool
# pprof, Chromium, the speedscope app); the integration tests do the same
# with real profiles
consumer-test: $(FG_BIN) $(UNIT_BINS)
	$(Q)PYEBPF_FLAMEGRAPH=$(abspath $(FG_BIN)) tests/formats/check_flamegraph_tool.sh
	$(Q)BUILD=$(BUILD) tests/formats/check_fixture_outputs.sh

test: check-generated unit-test consumer-test integration-test

demo: $(BIN)
	$(Q)$(BIN) record -o demo.svg --duration 30 -- $(PYTHON) demo/demo.py
	@echo "flame graph written to demo.svg: open it in a browser"

bench: $(BIN) $(BENCH_BIN)
	$(Q)BENCH_SAMPLER=$(abspath $(BENCH_BIN)) $(PYTHON) bench/run.py

# the generated layout table stays as its generator writes it
format:
	clang-format -i $(filter-out user/python_layouts_table.c,$(wildcard bpf/*.c bpf/*.h \
		user/*.c user/*.h include/*.h flamegraph/*.c flamegraph/*.h tests/unit/*.c tests/unit/*.h))

# --- install ------------------------------------------------------------------
# `sudo make install`, or DESTDIR=/tmp/pkg for a package: the two programs,
# the agent's systemd unit (ExecStart pointing at BINDIR), its example config
# (never over an existing one: it is yours once edited) and the shell
# completions. `make uninstall` removes them, the config only if unchanged.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SYSCONFDIR ?= /etc
SYSTEMD_UNIT_DIR ?= /lib/systemd/system
BASH_COMPLETION_DIR ?= $(PREFIX)/share/bash-completion/completions
ZSH_COMPLETION_DIR ?= $(PREFIX)/share/zsh/site-functions
FISH_COMPLETION_DIR ?= $(PREFIX)/share/fish/vendor_completions.d
AGENT_CONF := $(DESTDIR)$(SYSCONFDIR)/pyebpf/agent.conf
AGENT_UNIT := $(DESTDIR)$(SYSTEMD_UNIT_DIR)/pyebpf-agent.service

install: $(BIN) $(FG_BIN)
	$(call msg,INSTALL,$(DESTDIR)$(BINDIR)/pyebpf)
	$(Q)install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSTEMD_UNIT_DIR) \
		$(DESTDIR)$(SYSCONFDIR)/pyebpf $(DESTDIR)$(BASH_COMPLETION_DIR) \
		$(DESTDIR)$(ZSH_COMPLETION_DIR) $(DESTDIR)$(FISH_COMPLETION_DIR)
	$(Q)install -m 0755 $(BIN) $(FG_BIN) $(DESTDIR)$(BINDIR)/
	$(call msg,INSTALL,$(AGENT_UNIT))
	$(Q)sed -e 's|/usr/local/bin/pyebpf|$(BINDIR)/pyebpf|' \
		-e 's|/etc/pyebpf/|$(SYSCONFDIR)/pyebpf/|' \
		packaging/pyebpf-agent.service > $(AGENT_UNIT).tmp && \
		chmod 0644 $(AGENT_UNIT).tmp && mv -f $(AGENT_UNIT).tmp $(AGENT_UNIT)
	$(Q)if [ -e $(AGENT_CONF) ]; then \
		echo "  KEEP     $(AGENT_CONF) (exists; the example is packaging/agent.conf)"; \
	else \
		printf '  %-8s %s\n' INSTALL $(AGENT_CONF); \
		install -m 0600 packaging/agent.conf $(AGENT_CONF); \
	fi
	$(call msg,INSTALL,shell completions)
	$(Q)$(BIN) completions bash > $(DESTDIR)$(BASH_COMPLETION_DIR)/pyebpf
	$(Q)$(BIN) completions zsh > $(DESTDIR)$(ZSH_COMPLETION_DIR)/_pyebpf
	$(Q)$(BIN) completions fish > $(DESTDIR)$(FISH_COMPLETION_DIR)/pyebpf.fish
	$(Q)if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
		systemctl daemon-reload || true; \
		echo "edit $(AGENT_CONF), then: systemctl enable --now pyebpf-agent"; \
	fi

uninstall:
	$(call msg,REMOVE,$(DESTDIR)$(BINDIR)/pyebpf)
	$(Q)rm -f $(DESTDIR)$(BINDIR)/pyebpf $(DESTDIR)$(BINDIR)/pyebpf-flamegraph $(AGENT_UNIT) \
		$(DESTDIR)$(BASH_COMPLETION_DIR)/pyebpf $(DESTDIR)$(ZSH_COMPLETION_DIR)/_pyebpf \
		$(DESTDIR)$(FISH_COMPLETION_DIR)/pyebpf.fish
	$(Q)if cmp -s packaging/agent.conf $(AGENT_CONF); then \
		rm -f $(AGENT_CONF); rmdir $(DESTDIR)$(SYSCONFDIR)/pyebpf 2>/dev/null || true; \
	elif [ -e $(AGENT_CONF) ]; then \
		echo "  KEEP     $(AGENT_CONF) (changed; remove it by hand)"; \
	fi
# --- end install --------------------------------------------------------------

clean:
	rm -rf build build-san

-include $(BPF_OBJS:.o=.d) $(LIB_OBJS:.o=.d) $(BUILD)/user/main.d $(UNIT_BINS:=.d) \
	$(BUILD)/bench/bench_sampler.d
