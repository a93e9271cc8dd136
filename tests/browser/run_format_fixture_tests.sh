#!/usr/bin/env bash
# The shared report fixture (tests/unit/report_fixture.h) written as
# speedscope and chrometrace by the writers' unit tests, then read back by
# their consumers: tests/browser/speedscope_check.mjs and
# chrometrace_check.mjs (schema and format rules, then the speedscope page
# in headless Chromium). Run from anywhere; builds the unit tests first.
# Prints one line per check and closes with "browser: N passed, N failed".
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
build=${BUILD:-build}

make -s "$build/tests/test_speedscope_output" "$build/tests/test_chrometrace_output" || exit 1
out=$(mktemp -d "${TMPDIR:-/tmp}/pyebpf-fixture.XXXXXX") || exit 1
trap 'rm -rf "$out"' EXIT

for t in test_speedscope_output test_chrometrace_output; do
	if ! PYEBPF_WRITE_FIXTURE_OUTPUTS="$out" "$build/tests/$t" >"$out/$t.log" 2>&1; then
		cat "$out/$t.log"
		echo "browser: 0 passed, 1 failed"
		exit 1
	fi
done

passed=0 failed=0
check() {
	local what=$1
	shift
	if msg=$(node "$@" 2>&1); then
		printf 'ok    %s\n' "$what"
		passed=$((passed + 1))
	else
		printf 'FAIL  %s: %s\n' "$what" "$msg"
		failed=$((failed + 1))
	fi
}

for f in speedscope_fixture speedscope_fixture_no_names; do
	check "$f.json in speedscope" tests/browser/speedscope_check.mjs "$out/$f.json" \
		--expect-frame 'Parser.parse_row' --expect-frame '<lambda> "q" & <x>' \
		--expect-frame 'tcp_recvmsg_[k]' --expect-frame '[off-cpu:io] recvfrom' \
		--expect-frame 'Thread.run'
done
for f in chrometrace_fixture chrometrace_fixture_no_names; do
	check "$f.json as a trace" tests/browser/chrometrace_check.mjs "$out/$f.json" \
		--expect-name 'Parser.parse_row' --expect-name '<lambda> "q" & <x>' \
		--expect-name 'tcp_recvmsg_[k]' --expect-name '[off-cpu:gil]' \
		--expect-name 'Thread.run'
done

echo "browser: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
