#!/usr/bin/env bash
# A copy of ../shared/ceph-rgw/start.sh (the xxftp repository carries it so that make test
# runs on a fresh machine); changes: `tail -n` for two files, and `tcp_nodelay=1` on beast.
# Start a throw-away one-node Ceph cluster (1 mon, 1 memstore OSD, 1 radosgw)
# bound to 127.0.0.1, no systemd, everything under $CEPH_DIR.
# Debian 12 packages: ceph-mon ceph-osd radosgw ceph-common (16.2.15 "Pacific").
#
# Usage: CEPH_DIR=/tmp/cephtest MON_PORT=13300 RGW_PORT=17480 ./start.sh
# Prints (and writes $CEPH_DIR/env) S3 endpoint + credentials when ready.
# Stop with: CEPH_DIR=... ./stop.sh   (kills only the PIDs recorded in $CEPH_DIR/*.pid)
set -euo pipefail

CEPH_DIR=${CEPH_DIR:-$(mktemp -d /tmp/ceph-rgw.XXXXXX)}
MON_PORT=${MON_PORT:-13300}
RGW_PORT=${RGW_PORT:-17480}
# memstore capacity: RAM is only used for data actually stored, but if stored data
# reaches ~97% of this the OSD goes 'failsafe full' and every write HANGS (no error).
MEMSTORE_BYTES=${MEMSTORE_BYTES:-8589934592}   # 8 GiB cap
ACCESS_KEY=${ACCESS_KEY:-testaccesskey0000000}
SECRET_KEY=${SECRET_KEY:-testsecretkey00000000000000000000000000}
TIMEOUT=${TIMEOUT:-120}

t0=$EPOCHREALTIME
mkdir -p "$CEPH_DIR"/{mon,osd,rgw,log,run}
CONF=$CEPH_DIR/ceph.conf
export CEPH_CONF=$CONF
FSID=$(uuidgen)

cat >"$CONF" <<EOF
[global]
fsid = $FSID
mon host = v2:127.0.0.1:$MON_PORT
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
ms bind port min = ${OSD_PORT_MIN:-16800}
ms bind port max = ${OSD_PORT_MAX:-17300}
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
keyring = /dev/null
run dir = $CEPH_DIR/run
admin socket = $CEPH_DIR/run/\$name.asok
log file = $CEPH_DIR/log/\$name.log
pid file = $CEPH_DIR/run/\$name.pid
chdir = ""
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = ${PG_NUM:-8}
osd pool default pgp num = ${PG_NUM:-8}
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail crit = 0
mon data avail warn = 0
mon max pg per osd = 1000
# speed: commit map changes (pool creations) quickly instead of the 1 s paxos batching
paxos propose interval = ${PAXOS_PROPOSE_INTERVAL:-0.05}
paxos min wait = 0.01
erasure code dir = /usr/lib/x86_64-linux-gnu/ceph/erasure-code
plugin dir = /usr/lib/x86_64-linux-gnu/ceph

[mon.a]
mon data = $CEPH_DIR/mon
mon cluster log file = $CEPH_DIR/log/mon-cluster.log

[osd.0]
osd data = $CEPH_DIR/osd
osd objectstore = memstore
memstore device bytes = $MEMSTORE_BYTES
osd class load list = *
osd class default list = *
osd max object size = 134217728

[client.rgw.test]
rgw data = $CEPH_DIR/rgw
# Without tcp_nodelay every listing answer waits ~40 ms for a delayed ACK (Nagle): a login and
# a STOR each list, so a default beast adds 80-120 ms to every transfer here.
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
rgw dns name = localhost
rgw enable usage log = false
rgw init timeout = $TIMEOUT
# deleted/overwritten object tails go to RGW garbage collection, default min wait 2 h
# (memstore RAM would only grow); collect them within seconds instead
rgw gc obj min wait = 0
rgw gc processor period = 2
rgw gc processor max time = 2
# radosgw's built-in defaults force ms_mon_client_mode=secure, which auth=none cannot
# provide -> 'send_auth_request get_initial_auth_request returned -13'
ms mon client mode = crc
EOF

elapsed() { awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.2f", b-a}'; }
log() { echo "[$(elapsed)s] $*"; }

# --- monitor -----------------------------------------------------------------
monmaptool --create --clobber --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT]" \
  "$CEPH_DIR/monmap" >/dev/null
ceph-mon -c "$CONF" -i a --mkfs --monmap "$CEPH_DIR/monmap" --keyring /dev/null
ceph-mon -c "$CONF" -i a -f >"$CEPH_DIR/log/mon.a.out" 2>&1 &
echo $! >"$CEPH_DIR/mon.pid"
log "mon started pid $(cat "$CEPH_DIR/mon.pid")"

# --- OSD ---------------------------------------------------------------------
OSD_UUID=$(uuidgen)
OSD_ID=$(timeout 60 ceph -c "$CONF" osd new "$OSD_UUID")
[ "$OSD_ID" = 0 ] || { echo "unexpected osd id $OSD_ID" >&2; exit 1; }
ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$OSD_UUID" --osd-objectstore memstore \
  >"$CEPH_DIR/log/osd.0.mkfs" 2>&1
ceph-osd -c "$CONF" -i 0 -f >"$CEPH_DIR/log/osd.0.out" 2>&1 &
echo $! >"$CEPH_DIR/osd.pid"
log "osd started pid $(cat "$CEPH_DIR/osd.pid")"

# --- radosgw -----------------------------------------------------------------
radosgw -c "$CONF" -n client.rgw.test -f >"$CEPH_DIR/log/rgw.out" 2>&1 &
echo $! >"$CEPH_DIR/rgw.pid"
log "radosgw started pid $(cat "$CEPH_DIR/rgw.pid")"

# wait for HTTP
deadline=$(( $(date +%s) + TIMEOUT ))
until curl -s -o /dev/null "http://127.0.0.1:$RGW_PORT/"; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "radosgw did not come up; see $CEPH_DIR/log" >&2; exit 1; fi
  kill -0 "$(cat "$CEPH_DIR/rgw.pid")" 2>/dev/null || {
    echo "radosgw died; tail of log:" >&2; tail -n 20 "$CEPH_DIR/log/rgw.out" "$CEPH_DIR/log/client.rgw.test.log" >&2; exit 1; }
  sleep 0.2
done
log "radosgw answers HTTP on 127.0.0.1:$RGW_PORT"

radosgw-admin -c "$CONF" user create --uid test --display-name test \
  --access-key "$ACCESS_KEY" --secret "$SECRET_KEY" >"$CEPH_DIR/log/user.json" 2>"$CEPH_DIR/log/user.err"
log "S3 user created"

cat >"$CEPH_DIR/env" <<EOF
CEPH_DIR=$CEPH_DIR
CEPH_CONF=$CONF
S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
AWS_ACCESS_KEY_ID=$ACCESS_KEY
AWS_SECRET_ACCESS_KEY=$SECRET_KEY
AWS_DEFAULT_REGION=us-east-1
EOF
cat "$CEPH_DIR/env"
