#!/usr/bin/env bash
# Checks the protocol model exhaustively (I1 as an LTL property, I3 and lock discipline as
# assertions), then each known-bad mutant, which must be reported as a violation.
# Prints one line per check and exits non-zero if any result is not the expected one.
set -uo pipefail
cd "$(dirname "$0")"
command -v spin > /dev/null || { echo "spin is not installed (apt-get install spin)"; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
check() {
  local name=$1 expect=$2 flags=$3
  mkdir -p "$work/$name"
  (cd "$work/$name" && spin -a $flags "$OLDPWD/protocol.pml" > spin.log 2>&1 \
    && gcc -O2 -DMEMLIM=8192 -DVECTORSZ=2048 -w -o pan pan.c \
    && ./pan -a -N i1 -m200000 > pan.log 2>&1)
  local errors states
  errors=$(grep -oE 'errors: [0-9]+' "$work/$name/pan.log" | awk '{print $2}')
  states=$(grep -oE '^ *[0-9.e+]+ states, stored' "$work/$name/pan.log" | awk '{print $1}')
  local got=violation
  [ "${errors:-x}" = "0" ] && got=holds
  [ -z "$errors" ] && got="no result (spin, gcc or pan failed)"
  if [ "$got" = "$expect" ]; then
    echo "ok    $name: I1 and assertions $got (errors: ${errors:-?}, states stored: ${states:-?})"
  else
    echo "FAIL  $name: expected $expect, got $got (errors: ${errors:-?})"
    tail -5 "$work/$name/pan.log"
    status=1
  fi
}
check protocol holds ""
check mutant-incident violation "-DMUT_INCIDENT"
check mutant-no-exclusive-lock violation "-DMUT_NO_EXCL_LOCK"
check mutant-commit-later-stat violation "-DMUT_LATER_STAT"
exit $status
