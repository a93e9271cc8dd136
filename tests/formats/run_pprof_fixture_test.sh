#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reads the shared report fixture's pprof output (tests/unit/report_fixture.h)
# back with the real `go tool pprof`, through tests/formats/pprof_check.py.
#
#   tests/formats/run_pprof_fixture_test.sh [TEST_BINARY]
#
# TEST_BINARY is the pprof unit test (default build/tests/test_pprof_output,
# made with `make` when missing); with PYEBPF_PPROF_FIXTURE_OUT set it writes
# the fixture's gzipped profile. Run from anywhere; exits non-zero on the
# first failed check.
set -eu
cd "$(dirname "$0")/../.."
bin=${1:-build/tests/test_pprof_output}
[ -x "$bin" ] || make -s "$bin"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
PYEBPF_PPROF_FIXTURE_OUT="$tmp/fixture.pb.gz" "$bin" >"$tmp/unit.log" 2>&1 || {
	cat "$tmp/unit.log" >&2
	echo "run_pprof_fixture_test: $bin failed" >&2
	exit 1
}
check() { tests/formats/pprof_check.py "$tmp/fixture.pb.gz" "$@"; }

# the fixture: 80 ms on CPU (Parser.parse_row 40 ms flat), 65 ms off CPU
# (tcp_recvmsg_[k] 40 ms under [off-cpu:io], [off-cpu:gil] 25 ms)
check --expect-top Parser.parse_row --min-share 0.27 # wall (the default): a tie
check --expect-top 'tcp_recvmsg_[k]' --min-share 0.27
check --expect-top Parser.parse_row --min-share 0.5 --sample-index cpu
check --expect-top 'tcp_recvmsg_[k]' --min-share 0.6 --sample-index off_cpu
check --expect-top Parser.parse_row --min-share 0.4 --sample-index samples \
	--require-labels pid,tid,thread_name,off_cpu_class
# and the checker fails when it should
if check --expect-top main 2>/dev/null; then
	echo "run_pprof_fixture_test: pprof_check accepted 'main' as the top function" >&2
	exit 1
fi
if check --expect-top Parser.parse_row --require-labels no_such_label 2>/dev/null; then
	echo "run_pprof_fixture_test: pprof_check accepted a missing label" >&2
	exit 1
fi
echo "run_pprof_fixture_test: go tool pprof reads the fixture as expected"
