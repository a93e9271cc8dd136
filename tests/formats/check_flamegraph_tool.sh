#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# End-to-end test of build/pyebpf-flamegraph: renders the folded fixture
# tests/golden/flamegraph_input.folded (every kind of frame, threads,
# off-CPU time, characters to escape) and checks
#   1. the tool: same bytes for the same stacks in any line order and from
#      standard input, well-formed XML, and one-line errors with a non-zero
#      exit for a missing file, input without stacks, an unwritable output
#      and a bad option;
#   2. the SVG in headless Chromium (flamegraph_check.mjs): a screenshot, a
#      click that zooms a frame to the full width, a search that highlights
#      the expected frames with the expected "Matched" share; for the flame
#      graph and for the icicle graph.
#
#   tests/formats/check_flamegraph_tool.sh [ARTIFACT_DIR]
#
# Screenshots and SVGs go to ARTIFACT_DIR (default $PYEBPF_TEST_ARTIFACTS,
# else build/test-artifacts):
# flamegraph-fixture.png (-zoom, -search) and flamegraph-fixture-icicle.png.
# Exit 0 when all pass, 1 on a failure (the reason on stderr; a missing
# Chromium, Node.js or playwright-core is one: `make deps` installs them).
# PYEBPF_FLAMEGRAPH overrides the binary.
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${PYEBPF_FLAMEGRAPH:-$root/build/pyebpf-flamegraph}
artifacts=${1:-${PYEBPF_TEST_ARTIFACTS:-$root/build/test-artifacts}}
fixture=$root/tests/golden/flamegraph_input.folded
check=$root/tests/browser/flamegraph_check.mjs

fail() {
	echo "check_flamegraph_tool: $*" >&2
	exit 1
}

[ -x "$bin" ] || fail "no $bin (make build/pyebpf-flamegraph)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$artifacts" || fail "cannot create $artifacts"

# --- the tool ---------------------------------------------------------------

svg=$artifacts/flamegraph-fixture.svg
"$bin" --title "pyebpf-flamegraph fixture" --subtitle "tests/golden/flamegraph_input.folded" \
	-o "$svg" "$fixture" || fail "rendering $fixture failed"
python3 -c 'import sys, xml.etree.ElementTree as ET; ET.parse(sys.argv[1])' "$svg" ||
	fail "$svg is not well-formed XML"

# same stacks, other order, from standard input: the same bytes
sort -r "$fixture" >"$tmp/reversed.folded"
"$bin" --title "pyebpf-flamegraph fixture" --subtitle "tests/golden/flamegraph_input.folded" \
	<"$tmp/reversed.folded" >"$tmp/reversed.svg" || fail "rendering from standard input failed"
cmp -s "$svg" "$tmp/reversed.svg" || fail "the same stacks in another order give other bytes"

# one-line errors and exit statuses
expect_error() { # STATUS PATTERN COMMAND...
	local want=$1 pattern=$2 rc lines
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	lines=$(wc -l <"$tmp/err")
	[ "$rc" -eq "$want" ] || fail "'$*' exited $rc, want $want: $(head -c 300 "$tmp/err")"
	[ "$lines" -eq 1 ] || fail "'$*' wrote $lines lines to stderr, want one"
	grep -q -- "^pyebpf-flamegraph: $pattern" "$tmp/err" ||
		fail "'$*' said '$(cat "$tmp/err")', want 'pyebpf-flamegraph: $pattern'"
}
expect_error 1 "cannot read '$tmp/none.folded': No such file" "$bin" "$tmp/none.folded"
printf 'not a stack\n\n' >"$tmp/bad.folded"
expect_error 1 "no stacks in the input" "$bin" "$tmp/bad.folded"
expect_error 1 "no stacks in the input" "$bin" /dev/null
expect_error 1 "cannot write '$tmp/no/dir/x.svg'" "$bin" -o "$tmp/no/dir/x.svg" "$fixture"
[ ! -e "$tmp/no/dir/x.svg" ] || fail "a failed write left a file"
expect_error 1 "cannot write '/dev/full': No space left" "$bin" "$fixture" -o /dev/full
[ -c /dev/full ] || fail "/dev/full is gone"
expect_error 1 "cannot write 'standard output': No space left" sh -c '"$0" "$1" >/dev/full' \
	"$bin" "$fixture"
expect_error 2 "unknown option '--bogus'" "$bin" --bogus "$fixture"
expect_error 2 "unknown --colors 'plaid'" "$bin" --colors plaid "$fixture"
expect_error 2 "invalid --width '5'" "$bin" --width 5 "$fixture"
expect_error 2 "invalid --minwidth 'x'" "$bin" --minwidth x "$fixture"
expect_error 2 "option '--title' needs a value" "$bin" --title
"$bin" --help >"$tmp/help" || fail "--help exited $?"
grep -q -- "--minwidth" "$tmp/help" || fail "--help does not describe --minwidth"
# a bad line among good ones: a warning, and the graph
{ cat "$fixture"; echo "garbage"; } >"$tmp/mixed.folded"
"$bin" -o "$tmp/mixed.svg" "$tmp/mixed.folded" 2>"$tmp/err" || fail "a bad line made it fail"
grep -q "^pyebpf-flamegraph: warning: ignored 1 line .* (the first is line 12 of '$tmp/mixed.folded')$" \
	"$tmp/err" ||
	fail "no warning for the bad line: $(cat "$tmp/err")"

icicle=$artifacts/flamegraph-fixture-icicle.svg
"$bin" --inverted --colors hot --width 900 --minwidth 0.5% --countname ms -o "$icicle" \
	"$fixture" || fail "rendering the icicle graph failed"
echo "check_flamegraph_tool: the tool: ok"

# --- the browser --------------------------------------------------------------

command -v node >/dev/null || fail "no node (make deps installs it)"
[ -x /usr/bin/chromium ] || fail "no /usr/bin/chromium (make deps installs Debian's chromium)"
[ -d "$root/tests/browser/node_modules/playwright-core" ] ||
	fail "no playwright-core (make deps runs npm ci in tests/browser)"

# main.py frames nest: <module> > main > compute; "Matched" counts <module>
# (57 of 98) once, not 57 + 57 + 6
node "$check" "$svg" "$artifacts/flamegraph-fixture.png" \
	--click 'main (/srv/app/main.py:31)' \
	--search 'main\.py' --expect-matches 3 --expect-matched 58.16 || exit 1
# the icicle graph: zoom into site-packages, search a function in 3 places
node "$check" "$icicle" "$artifacts/flamegraph-fixture-icicle.png" \
	--click get --search '^Parser\.parse_row ' --expect-matches 3 --expect-matched 39.80 ||
	exit 1
