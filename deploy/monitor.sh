#!/usr/bin/env bash
# Restarts a dead `tiermv run --watch` for one node (for hosts without systemd), e.g. from cron
# (this file is deploy/monitor.sh of a checkout, or node_modules/tiermv/deploy/ of an npm install):
#   TIERMV_CONFIG=/mnt/ceph/tiermv/config.json
#   TIERMV_BIN=/opt/tiermv/node_modules/.bin/tiermv
#   * * * * *  /opt/tiermv/node_modules/tiermv/deploy/monitor.sh node-a
# It needs bash, coreutils and procps (pgrep); its log is /var/log/tiermv-NODE.log by default.
# "Dead" means: no heartbeat for STALE_S seconds and no live scheduler process for the node.
# Starting a second scheduler is harmless anyway: it exits at once if one holds the node lock.
set -euo pipefail
node=${1:?usage: monitor.sh NODE}
: "${TIERMV_CONFIG:?set TIERMV_CONFIG}"
bin=${TIERMV_BIN:-/usr/local/bin/tiermv}
log=${TIERMV_LOG_FILE:-/var/log/tiermv-$node.log}
stale=${STALE_S:-120}
# The config's "spool" (a plain string in its JSON): read with sed, no JSON tool needed.
spool=$(sed -n 's/.*"spool"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p;T;q' "$TIERMV_CONFIG")
if [ -z "$spool" ]; then
  echo "monitor.sh: no \"spool\" found in $TIERMV_CONFIG" >&2
  exit 2
fi
beat="$spool/nodes/$node/heartbeat"
# A drained node's scheduler exits on purpose (`tiermv drain`) once nothing runs: not restarted
# until undrained. One with tasks in running/ died mid-task: restarted, it finishes them.
if [ -e "$spool/nodes/$node/DRAIN" ] && [ -z "$(ls -A "$spool/nodes/$node/running" 2>/dev/null)" ]; then
  exit 0
fi
if [ -f "$beat" ] && [ $(( $(date +%s) - $(stat -c %Y "$beat") )) -lt "$stale" ]; then
  exit 0
fi
if pgrep -f "tiermv.* run --node $node --watch" > /dev/null; then
  echo "$(date -Is) scheduler for $node runs but its heartbeat is stale (hung mount?)" >> "$log"
  exit 1
fi
echo "$(date -Is) starting scheduler for $node" >> "$log"
TIERMV_LOG=json BUN_JSC_forceRAMSize=${BUN_JSC_forceRAMSize:-268435456} \
  BUN_JSC_useFTLJIT=${BUN_JSC_useFTLJIT:-0} MIMALLOC_PURGE_DELAY=${MIMALLOC_PURGE_DELAY:-0} \
  nohup "$bin" run --node "$node" --watch >> "$log" 2>&1 &
