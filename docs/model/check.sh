#!/usr/bin/env bash
# Checks the protocol v2 models (README.md): each configuration that must hold is searched
# exhaustively (safety: assertions, invariant monitors, end states); each mutant and each
# "design as written" variant must be reported as a violation. One line per check:
#   ok    <name>: <expected> as expected (states stored, search time, peak memory)
#   FAIL  <name>: expected <x>, got <y> ...
# Exits non-zero if any result is not the expected one. Runs one search at a time.
# Usage: ./check.sh [name-filter]; MODEL_V1=1 also checks protocol.pml (the v1 protocol);
# MODEL_LARGE=1 also runs the WINDOW fence at 2x1 with crash, recover and a late request together
# (about 2 min and 5.5 GiB alone) and at 2x2 with crash (U0's bounds): outside the budget.
set -uo pipefail
cd "$(dirname "$0")"
command -v spin > /dev/null || { echo "spin is not installed (apt-get install spin)"; exit 2; }
command -v gcc > /dev/null || { echo "gcc is not installed"; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
started=$(date +%s)
peak_kb=0
only=${1:-}                       # optional: run only the checks whose name contains this

V=""                              # versioned store (default)
U0="-DUNVERSIONED -DSYNC_STORE -DMAXTO=0"
UW="-DUNVERSIONED -DWINDOW"        # unversioned, the time-window fence (the default)
UF="-DUNVERSIONED -DFENCED"       # unversioned, the all-multipart fence (the alternative)

# run a command, writing "<seconds> <peak KiB>" to time.log (GNU time if present)
timed() {
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f "%e %M" -o time.log "$@"
  else
    local t0=$SECONDS rc; "$@"; rc=$?; echo "$(( SECONDS - t0 )) 0" > time.log; return $rc
  fi
}

# check <name> <model> <holds|violation> <spin -D flags...>; O=-O0 check ...: compile fast (a
# search of under a million states: gcc -O1 costs more than it saves)
check() {
  local name=$1 model=$2 expect=$3; shift 3
  [ -n "$only" ] && [[ "$name" != *"$only"* ]] && return 0
  local dir="$work/$name" opt=${O:--O1}
  [ "$expect" = violation ] && opt=-O0      # a violation is found early: compile fast
  mkdir -p "$dir"
  (cd "$dir" && spin -a "$@" "$OLDPWD/$model" > spin.log 2>&1 \
    && gcc $opt -DSAFETY -DMEMLIM=8192 -w -o pan pan.c > gcc.log 2>&1 \
    && timed ./pan -m300000 > pan.log 2>&1)
  local errors states secs kb got
  errors=$(grep -oE 'errors: [0-9]+' "$dir/pan.log" 2> /dev/null | awk '{print $2}')
  states=$(grep -oE '^ *[0-9.e+]+ states, stored' "$dir/pan.log" 2> /dev/null | awk '{print $1}')
  read -r secs kb < <(tail -1 "$dir/time.log" 2> /dev/null || echo "? 0")
  [ "${kb:-0}" -gt "$peak_kb" ] 2> /dev/null && peak_kb=$kb
  if [ -z "$errors" ]; then
    got="no result (spin, gcc or pan failed)"
  elif grep -qE 'reached -DMEMLIM|max search depth too small|Search not completed' "$dir/pan.log" \
       && [ "$errors" = 0 ]; then
    got="incomplete search"
  elif [ "$errors" = 0 ]; then
    got=holds
  elif grep -q 'assertion violated' "$dir/pan.log"; then
    got=violation
  else
    got="violation of another kind ($(grep -m1 -oE 'pan:1: [^(]*' "$dir/pan.log"))"
  fi
  local figures="states stored: ${states:-?}, ${secs:-?} s, $(( ${kb:-0} / 1024 )) MiB"
  if [ "$got" = "$expect" ]; then
    echo "ok    $name: $expect as expected ($figures)"
  else
    echo "FAIL  $name: expected $expect, got $got ($figures)"
    grep -m3 -E 'pan:1|error|Error' "$dir/pan.log" "$dir/spin.log" "$dir/gcc.log" 2> /dev/null | head -3
    status=1
  fi
}

# --- migrate.pml: one inode, one key -------------------------------------------------------
# protocol v2 with the model's fixes (README): must hold
check migrate-versioned-crash         migrate.pml holds     $V -DRESTORE
check migrate-versioned-recover       migrate.pml holds     $V -DRECOVER -DMAXC=0 -DA2=1
check migrate-versioned-crash-recover migrate.pml holds     $V -DRECOVER -DA1=1 -DA2=1
O=-O0 check migrate-unversioned-sync        migrate.pml holds     $U0 -DRESTORE
check migrate-unversioned-window      migrate.pml holds     $UW -DRECOVER -DA1=1 -DA2=1
check migrate-unversioned-window-crash migrate.pml holds    $UW -DRESTORE -DA2=1
check migrate-unversioned-fenced      migrate.pml holds     $UF -DRECOVER -DA1=1 -DA2=1
if [ "${MODEL_LARGE:-}" = 1 ]; then
  check migrate-unversioned-window-large migrate.pml holds  $UW -DRECOVER -DA2=1
  check migrate-unversioned-window-crash-2x2 migrate.pml holds $UW -DRESTORE
  check redundant-window-modified-delete-2x1 migrate.pml holds $UW -DRECOVER -DMAXC=0 -DA2=1 -DWINDOW_MODIFIED_DELETE
fi
# protocol-v2.md as handed over (design-window-*: the window fence as first stated), where the
# model found it wrong: must be reported
check design-unversioned-late         migrate.pml violation -DUNVERSIONED -DMAXC=0 -DA2=1
check design-resolve-no-ctime         migrate.pml violation $V -DRESTORE -DA2=1 -DDESIGN_RESOLVE_NO_CTIME
check design-d1-one-outcome           migrate.pml violation $V -DRECOVER -DMAXC=0 -DA2=1 -DDESIGN_D1_STRICT
check design-report-late-commit       migrate.pml violation $V -DRECOVER -DMAXC=0 -DA2=1 -DDESIGN_REPORT_AS_WRITTEN
check design-window-from-at           migrate.pml violation $UW -DRECOVER -DMAXC=0 -DA2=1 -DDESIGN_WINDOW_AT
check design-window-arrival           migrate.pml violation $UW -DRECOVER -DMAXC=0 -DA2=1 -DDESIGN_WINDOW_ARRIVAL
check design-hidden-resend            migrate.pml violation $UW -DRECOVER -DMAXC=0 -DA2=1 -DDESIGN_HIDDEN_RESEND
# mutants: each removes one guard and must be reported
check mutant-decide-by-set            migrate.pml violation $V -DRECOVER -DMAXC=0 -DA2=1 -DMUT_DECIDE_SET
check mutant-no-take-view             migrate.pml violation $V -DMAXC=0 -DA2=1 -DMUT_NO_TAKE_VIEW
check mutant-no-exclusive-take        migrate.pml violation $V -DMAXC=0 -DA2=1 -DMUT_NO_EXCL_TAKE
check mutant-clean-undecided          migrate.pml violation $V -DRECOVER -DMAXC=0 -DA2=1 -DMUT_CLEAN_UNDECIDED
check mutant-delete-by-key            migrate.pml violation $V -DRECOVER -DMAXC=0 -DA2=1 -DMUT_DELETE_BY_KEY
check mutant-no-ctime                 migrate.pml violation $V -DRESTORE -DMAXC=0 -DA2=1 -DMUT_NO_CTIME
check mutant-commit-later-stat        migrate.pml violation $V -DMAXC=0 -DA2=1 -DMUT_LATER_STAT
check mutant-no-state-test            migrate.pml violation $U0 -DMUT_NO_STATE_TEST
check mutant-incident                 migrate.pml violation $U0 -DMUT_NO_STATE_TEST -DMUT_NO_RECHECK
check mutant-judge-alive-dead         migrate.pml violation $U0 -DMUT_JUDGE_ALIVE_DEAD
check mutant-fence-e-only             migrate.pml violation $UF -DRECOVER -DMAXC=0 -DA2=1 -DMUT_FENCE_E_ONLY
check mutant-fence-no-check           migrate.pml violation $UF -DRECOVER -DMAXC=0 -DA2=1 -DMUT_FENCE_NO_CHECK
check mutant-window-check-first       migrate.pml violation $UW -DRECOVER -DMAXC=0 -DA2=1 -DMUT_WINDOW_CHECK_FIRST
check mutant-window-no-wait-ambiguous migrate.pml violation $UW -DMAXC=0 -DA2=1 -DMUT_WINDOW_NO_WAIT_AMBIGUOUS
check mutant-window-no-wait-revoked   migrate.pml violation $UW -DRECOVER -DMAXC=0 -DA2=1 -DMUT_WINDOW_NO_WAIT_REVOKED
check mutant-window-delete-rollback   migrate.pml violation $UW -DMAXC=0 -DA2=1 -DMUT_WINDOW_DELETE_ROLLBACK
check mutant-window-delete-modified   migrate.pml violation $UW -DMAXC=0 -DA2=1 -DMUT_WINDOW_DELETE_MODIFIED
check mutant-window-decide-unanswered migrate.pml violation $UW -DMAXC=0 -DA2=1 -DMUT_WINDOW_DECIDE_UNANSWERED
# a guard that the model shows redundant (subsumed by the max test of the view after take)
O=-O0 check redundant-state-recheck         migrate.pml holds     $V -DMAXC=0 -DA2=1 -DRESTORE -DMUT_NO_RECHECK
# WINDOW: a DELETE by key on the modified path, sent as a write of the epoch (signed, checked,
# ambiguous when unanswered), is harmless: rule 1 guards the cleanup's DELETE, not this one
O=-O0 check redundant-window-modified-delete migrate.pml holds $UW -DRECOVER -DMAXC=0 -DA1=1 -DA2=1 -DWINDOW_MODIFIED_DELETE

# --- gc.pml: records and GC over more epochs ------------------------------------------------
check gc                              gc.pml      holds     -DA1=3 -DA2=2 -DA3=0
check mutant-gc-revoked-above-s       gc.pml      violation -DA1=3 -DA2=2 -DA3=0 -DMUT_GC_REVK
check mutant-gc-epoch-max             gc.pml      violation -DA1=3 -DA2=2 -DA3=0 -DMUT_GC_MAX

# --- journal.pml: torn tails, replays, duplicates --------------------------------------------
check journal                         journal.pml holds
check design-journal-gcd-line         journal.pml violation -DDESIGN_JOURNAL_AS_WRITTEN
check mutant-journal-glued-append     journal.pml violation -DMUT_GLUE
check mutant-journal-cursor-first     journal.pml violation -DMUT_CURSOR_FIRST
check mutant-journal-clean-undecided  journal.pml violation -DMUT_CLEAN_UNDECIDED

# --- rename.pml: paths, inodes, keys ----------------------------------------------------------
O=-O0 check rename-versioned                rename.pml  holds
check rename-unversioned              rename.pml  violation -DUNVERSIONED
check mutant-no-identity              rename.pml  violation -DMUT_NO_IDENTITY
O=-O0 check redundant-moved-check           rename.pml  holds     -DMUT_NO_MOVED

# --- tier.pml: release and restore (BRIEF 9) ---------------------------------------------------
TA="-DADV -DKEYB"                 # someone deletes or overwrites the object; a state for key B
O=-O0 check tier                            tier.pml    holds     $TA
check tier-two-nodes                  tier.pml    holds     $TA -DTWO -DMAXC=0
check mutant-release-no-head          tier.pml    violation $TA -DMUT_REL_NO_HEAD
check mutant-release-no-lock          tier.pml    violation $TA -DMUT_REL_NO_LOCK
check mutant-release-other-key        tier.pml    violation $TA -DMUT_REL_OTHER_KEY
check mutant-release-no-recheck       tier.pml    violation $TA -DMUT_REL_NO_RECHECK
check mutant-restore-no-lock          tier.pml    violation $TA -DMUT_RST_NO_LOCK
check mutant-restore-dirty            tier.pml    violation $TA -DMUT_RST_DIRTY
check mutant-restore-no-chunk-fence   tier.pml    violation $TA -DMUT_RST_NO_CHUNK_FENCE
check mutant-restore-no-times-fence   tier.pml    violation $TA -DMUT_RST_NO_TIMES_FENCE
check mutant-restore-no-verify        tier.pml    violation $TA -DMUT_RST_NO_VERIFY
check mutant-restore-no-written-size  tier.pml    violation $TA -DMUT_RST_NO_WRITTEN_SIZE
check mutant-restore-takeback-no-fence tier.pml   violation $TA -DMUT_RST_TAKEBACK_NO_FENCE
check mutant-migrate-stub             tier.pml    violation $TA -DMUT_MIGRATE_STUB
O=-O0 check tier-versioned-migrate          tier.pml    holds     $TA -DVSTORE
check mutant-migrate-prefix           tier.pml    violation $TA -DVSTORE -DMUT_MIGRATE_PREFIX
check design-truncate-first           tier.pml    violation $TA -DDESIGN_TRUNC_FIRST
if [ "${MODEL_LARGE:-}" = 1 ]; then
  check tier-two-nodes-crash          tier.pml    holds     $TA -DTWO
fi

# --- protocol.pml: the v1 protocol as implemented (LTL I1, acceptance cycles); opt-in ---------
# It models the code before v2 (58 s, 3.6 GB alone), so it is outside check.sh's budget.
check_v1() {
  local name=$1 expect=$2; shift 2
  local dir="$work/$name"; mkdir -p "$dir"
  (cd "$dir" && spin -a "$@" "$OLDPWD/protocol.pml" > spin.log 2>&1 \
    && gcc -O2 -DMEMLIM=8192 -DVECTORSZ=2048 -w -o pan pan.c \
    && timed ./pan -a -N i1 -m200000 > pan.log 2>&1)
  local errors states secs kb got=violation
  errors=$(grep -oE 'errors: [0-9]+' "$dir/pan.log" | awk '{print $2}')
  states=$(grep -oE '^ *[0-9.e+]+ states, stored' "$dir/pan.log" | awk '{print $1}')
  read -r secs kb < <(tail -1 "$dir/time.log" 2> /dev/null || echo "? 0")
  [ "${errors:-x}" = 0 ] && got=holds
  [ -z "$errors" ] && got="no result"
  if [ "$got" = "$expect" ]; then
    echo "ok    $name: $expect as expected (states stored: ${states:-?}, ${secs:-?} s, $(( ${kb:-0} / 1024 )) MiB)"
  else
    echo "FAIL  $name: expected $expect, got $got"; status=1
  fi
}
if [ "${MODEL_V1:-}" = 1 ]; then
  check_v1 v1-protocol holds
  check_v1 v1-mutant-incident violation -DMUT_INCIDENT
  check_v1 v1-mutant-no-exclusive-lock violation -DMUT_NO_EXCL_LOCK
  check_v1 v1-mutant-commit-later-stat violation -DMUT_LATER_STAT
fi

echo "model checks took $(( $(date +%s) - started )) s, peak memory of one search $(( peak_kb / 1024 )) MiB"
exit $status
