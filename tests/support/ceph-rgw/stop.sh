#!/usr/bin/env bash
# A copy of ../shared/ceph-rgw/stop.sh, carried by the repository for make test.
# Stop the cluster started by start.sh: kill only the PIDs it recorded, then remove CEPH_DIR.
# KEEP=1 keeps the directory (logs).  SIGKILL is used on purpose: memstore would
# otherwise serialise its whole content to $CEPH_DIR/osd on a clean shutdown.
set -u
: "${CEPH_DIR:?set CEPH_DIR}"
for d in rgw osd mon; do
  f=$CEPH_DIR/$d.pid
  [ -f "$f" ] || continue
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null
    # wait until gone (a zombie not yet reaped by our reparented parent counts as gone)
    for _ in $(seq 50); do
      st=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || break
      [ "$st" = Z ] && break
      sleep 0.1
    done
  fi
  rm -f "$f"
done
[ "${KEEP:-0}" = 1 ] || rm -rf "$CEPH_DIR"
