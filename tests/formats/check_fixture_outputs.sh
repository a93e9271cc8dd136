#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The shared report fixture (tests/unit/report_fixture.h), as the writers'
# unit tests write it, read back by the programs people open it with:
#   - pprof by the real `go tool pprof` (pprof_check.py): the top function
#     of each sample type, the labels, and that the checker does fail;
#   - speedscope by speedscope's file-format schema and the speedscope app
#     from npm in headless Chromium (tests/browser/speedscope_check.mjs);
#   - chrometrace by the trace-event rules and speedscope's trace importer
#     (tests/browser/chrometrace_check.mjs).
# The flame graph has its own script, check_flamegraph_tool.sh.
#
#   tests/formats/check_fixture_outputs.sh
#
# Run from anywhere; builds the unit tests it needs. One line per check,
# then "fixture outputs: N passed, N failed"; exit 0 only if none failed.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
build=${BUILD:-build}
tests="test_pprof_output test_speedscope_output test_chrometrace_output"

make -s $(for t in $tests; do echo "$build/tests/$t"; done) || exit 1
out=$(mktemp -d "${TMPDIR:-/tmp}/pyebpf-fixture.XXXXXX") || exit 1
trap 'rm -rf "$out"' EXIT
for t in $tests; do
	if ! PYEBPF_WRITE_FIXTURE_OUTPUTS="$out" "$build/tests/$t" >"$out/$t.log" 2>&1; then
		cat "$out/$t.log"
		echo "fixture outputs: $t failed"
		exit 1
	fi
done

passed=0 failed=0
# check WHAT COMMAND...: passes when COMMAND exits 0
check() {
	local what=$1 msg
	shift
	if msg=$("$@" 2>&1); then
		printf 'ok    %s\n' "$what"
		passed=$((passed + 1))
	else
		printf 'FAIL  %s: %s\n' "$what" "$(printf '%s' "$msg" | tail -3)"
		failed=$((failed + 1))
	fi
}
# refute WHAT COMMAND...: passes when COMMAND fails (the checker can fail)
refute() {
	local what=$1
	shift
	if "$@" >/dev/null 2>&1; then
		printf 'FAIL  %s: the checker accepted it\n' "$what"
		failed=$((failed + 1))
	else
		printf 'ok    %s\n' "$what"
		passed=$((passed + 1))
	fi
}

pprof=(python3 tests/formats/pprof_check.py "$out/pprof_fixture.pb.gz")
# the fixture: 80 ms on CPU (Parser.parse_row 40 ms flat), 65 ms off CPU
# (tcp_recvmsg_[k] 40 ms under [off-cpu:io], [off-cpu:gil] 25 ms)
check "pprof wall: Parser.parse_row first (a tie)" "${pprof[@]}" \
	--expect-top Parser.parse_row --min-share 0.27
check "pprof wall: tcp_recvmsg_[k] first (a tie)" "${pprof[@]}" \
	--expect-top 'tcp_recvmsg_[k]' --min-share 0.27
check "pprof cpu: Parser.parse_row 50%" "${pprof[@]}" \
	--expect-top Parser.parse_row --min-share 0.5 --sample-index cpu
check "pprof off_cpu: tcp_recvmsg_[k] 61%" "${pprof[@]}" \
	--expect-top 'tcp_recvmsg_[k]' --min-share 0.6 --sample-index off_cpu
check "pprof samples, every label" "${pprof[@]}" \
	--expect-top Parser.parse_row --min-share 0.4 --sample-index samples \
	--require-labels pid,tid,thread_name,off_cpu_class
refute "pprof: main is not the top function" "${pprof[@]}" --expect-top main
refute "pprof: a label that is not there" "${pprof[@]}" \
	--expect-top Parser.parse_row --require-labels no_such_label

for f in speedscope_fixture speedscope_fixture_no_names; do
	check "$f.json in speedscope" node tests/browser/speedscope_check.mjs "$out/$f.json" \
		--expect-frame 'Parser.parse_row' --expect-frame '<lambda> "q" & <x>' \
		--expect-frame 'tcp_recvmsg_[k]' --expect-frame '[off-cpu:io] recvfrom' \
		--expect-frame 'Thread.run'
done
for f in chrometrace_fixture chrometrace_fixture_no_names; do
	check "$f.json as a trace" node tests/browser/chrometrace_check.mjs "$out/$f.json" \
		--expect-name 'Parser.parse_row' --expect-name '<lambda> "q" & <x>' \
		--expect-name 'tcp_recvmsg_[k]' --expect-name '[off-cpu:gil]' \
		--expect-name 'Thread.run'
done
sed 's/,"col":0//' "$out/speedscope_fixture.json" >"$out/missing_col.json"
refute "speedscope: a file with a frame key missing" node tests/browser/speedscope_check.mjs \
	"$out/missing_col.json"

echo "fixture outputs: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
