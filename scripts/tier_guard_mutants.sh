#!/usr/bin/env bash
# Removes each guard of release/restore in turn (a one-line edit of the source, reverted after)
# and runs the test that must then fail (docs/tiering.md; test/tier/). Prints one line per guard:
#   ok    <guard>: its test fails without it (a "(fail)" line, after it passed unmutated)
#   FAIL  <guard>: its test still passes without it, or never ran, or did not pass unmutated
# Needs a clean work tree for the edited files (it restores them with git checkout, also when
# interrupted). ~2 min. test/mutants/ (npm test's mutants stage) holds the protocol's mutants.
# Usage: scripts/tier_guard_mutants.sh [name-filter]
set -uo pipefail
cd "$(dirname "$0")/.."
BUN=node_modules/.bin/bun
status=0
only=${1:-}                       # optional: run only the mutants whose name contains this
edited=""
restore_edited() { if [ -n "$edited" ]; then git checkout -q -- "$edited"; edited=""; fi; }
trap restore_edited EXIT
trap 'restore_edited; exit 130' INT TERM

# mutant <name> <file> <python regex> <replacement> <test file> <test name pattern>
mutant() {
  local name=$1 file=$2 pattern=$3 replacement=$4 test=$5 filter=$6
  [ -n "$only" ] && [[ "$name" != *"$only"* ]] && return 0
  local log
  log=$(mktemp "/tmp/tier-mutant-$name.XXXXXX")
  # Unmutated first: a filter matching no test, a missing service or a compile error would
  # otherwise fail the run and read as a kill.
  if ! $BUN test --timeout 300000 "$test" -t "$filter" > "$log.unmutated" 2>&1 \
    || ! grep -q '^(pass) ' "$log.unmutated"; then
    echo "FAIL  $name: its test does not pass on the unmutated tree ($log.unmutated)"; status=1; return
  fi
  # The edit is undone with git checkout: a file with changes of its own is never touched.
  if ! git diff --quiet -- "$file"; then
    echo "FAIL  $name: $file has uncommitted changes (commit or stash them first)"; status=1; return
  fi
  edited=$file
  python3 - "$file" "$pattern" "$replacement" <<'PY' || { echo "FAIL  $name: pattern not found"; status=1; return; }
import re, sys
path, pattern, replacement = sys.argv[1:4]
text = open(path).read()
new, n = re.subn(pattern, replacement, text, count=1, flags=re.S)
if n != 1: sys.exit(1)
open(path, "w").write(new)
PY
  $BUN test --timeout 300000 "$test" -t "$filter" > "$log" 2>&1
  if grep -q '^(fail) ' "$log"; then
    echo "ok    $name: its test fails without it"
  else
    echo "FAIL  $name: its test does not fail without it ($log)"; status=1
  fi
  git checkout -q -- "$file"
  edited=""
}

mutant restore-chunk-fence jobs/file/restore_copy.ts 'if \(now\.ctimeNs !== base\.ctimeNs \|\| now\.size !== offset\)' 'if (false)' \
  test/tier/guards.test.ts "chunk fence"
mutant restore-written-size jobs/file/restore_copy.ts 'if \(base\.size !== offset \+ bytes\.length\)' 'if (false)' \
  test/tier/target_down.test.ts "a write appended between a restore's pwrite"
mutant restore-takeback-fence jobs/file/restore_copy.ts 'if \(now\.ctimeNs !== base\.ctimeNs \|\| now\.size !== base\.size\) return false;' 'if (false) return false;' \
  test/tier/target_down.test.ts "after a restore's last fstat"
mutant restore-times-fence jobs/file/restore.ts 'if \(now\.ctimeNs !== copied\.baseline\.ctimeNs \|\| now\.size !== state\.size\)' 'if (false)' \
  test/tier/guards.test.ts "last fence"
mutant release-recheck jobs/file/release.ts 'if \(stat\.size !== state\.size \|\| stat\.mtimeNs !== state\.mtimeNs \|\| stat\.ino !== state\.ino\)' 'if (false)' \
  test/tier/guards.test.ts "re-check"
mutant release-recheck-held jobs/file/release.ts 'if \(stat\.size !== state\.size \|\| stat\.mtimeNs !== state\.mtimeNs \|\| stat\.ino !== state\.ino\)' 'if (false)' \
  test/tier/release_window.test.ts "before its re-check"
mutant flock jobs/file/tier_file.ts 'if \(!\(await opened\.locked\?\.\(\)\)\)' 'if (false)' \
  test/tier/guards.test.ts "flock"
mutant identity jobs/file/release.ts 'const identity = \{ key: file\.key, target: job\.target\.url, stat \};' 'const identity = { key: state.key, target: state.target, stat };' \
  test/tier/guards.test.ts "identity"
mutant release-head jobs/file/release.ts 'if \(!object\) return `its object' 'if (false) return `its object' \
  test/tier/release_restore.test.ts "behind tiermv"
mutant restore-dirty-stub jobs/file/restore_copy.ts 'if \(!sameBytes\(mine, expected\)\)' 'if (false)' \
  test/tier/release_restore.test.ts "dirty"
mutant migrate-refuses-stubs jobs/file/stub.ts 'if \(state\?\.state !== "released"\) return null;' 'return null;' \
  test/tier/release_restore.test.ts "never uploads"
exit $status
