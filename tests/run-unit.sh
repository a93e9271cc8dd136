#!/usr/bin/env bash
# Runs every cmocka unit-test binary given as an argument and prints one
# closing line "N passed, N failed" over all of them.
set -u
passed=0 failed=0
for t in "$@"; do
	out=$("$t" 2>&1); rc=$?
	printf '%s\n' "$out" | grep -E '^\[  (PASSED|FAILED) |^\[  FAILED|^\[ +ERROR' || true
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p')
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p')
	passed=$((passed + ${p:-0}))
	if [ "$rc" -ne 0 ]; then
		printf '%s\n' "$out" | tail -20
		failed=$((failed + ${f:-1}))
	fi
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
