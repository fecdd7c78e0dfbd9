#!/usr/bin/env bash
# What the object-store tests need (run by `make test` after the FTP clients): a one-node
# Ceph RADOS Gateway (tests/support/ceph-rgw/start.sh) and HAProxy in front of two
# instances. Nothing to do when all are there; as root it installs the missing ones
# with apt-get, otherwise it names them in one line and fails.
set -euo pipefail

# command:Debian package
tools=(ceph-mon:ceph-mon ceph-osd:ceph-osd radosgw:radosgw radosgw-admin:ceph-common
  monmaptool:ceph-common haproxy:haproxy uuidgen:uuid-runtime)

missing=()
for pair in "${tools[@]}"; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "make test: the object-store tests need: apt-get install --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
echo "make test: installing the object-store test tools: ${missing[*]} (about 70 MB)" >&2
export DEBIAN_FRONTEND=noninteractive
# Another apt run may hold the lock for a while: wait for it rather than fail.
apt=(apt-get -qq -o DPkg::Lock::Timeout=300)
"${apt[@]}" update >/dev/null
"${apt[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null
for pair in "${tools[@]}"; do
  if ! command -v "${pair%%:*}" >/dev/null 2>&1; then
    echo "make test: ${pair%%:*} is still missing after installing ${pair#*:}" >&2
    exit 1
  fi
done
