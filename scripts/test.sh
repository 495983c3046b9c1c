#!/usr/bin/env bash
# The whole test suite, from a fresh machine: install, build, run every test for real
# (kernel, network namespaces, SoftHSM, OpenSSL). Run as root.
#
# Each test file runs in its own process: a PKCS#11 module reads its configuration once per
# process (SoftHSM's token directory), and a BPF or HSM handle a failed file leaked must not
# reach the next file. Arguments narrow the run: bash scripts/test.sh test/kernel
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/build.sh

mapfile -t files < <(find "${@:-test}" -name '*.test.ts' | sort)
pass=0 fail=0 skip=0 failed_files=()
for f in "${files[@]}"; do
  out=$(bun test --timeout 120000 "$f" 2>&1) && rc=0 || rc=$?
  printf '%s\n' "$out"
  p=$(grep -oE '^ *[0-9]+ pass$' <<<"$out" | grep -oE '[0-9]+' || echo 0)
  x=$(grep -oE '^ *[0-9]+ fail$' <<<"$out" | grep -oE '[0-9]+' || echo 0)
  s=$(grep -oE '^ *[0-9]+ skip$' <<<"$out" | grep -oE '[0-9]+' || echo 0)
  pass=$((pass + p)); fail=$((fail + x)); skip=$((skip + s))
  if [ "$rc" -ne 0 ]; then
    failed_files+=("$f")
    [ "$x" -gt 0 ] || fail=$((fail + 1)) # a file that crashed before reporting counts as one failure
  fi
done
[ ${#failed_files[@]} -eq 0 ] || printf '\nfailed files:\n%s\n' "$(printf '  %s\n' "${failed_files[@]}")"
echo
echo "${pass} passed, ${fail} failed, ${skip} skipped"
[ "$fail" -eq 0 ] && [ ${#failed_files[@]} -eq 0 ]
