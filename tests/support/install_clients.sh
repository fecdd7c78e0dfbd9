#!/usr/bin/env bash
# The clients the tests drive (run by `make test` first). Nothing to do when
# all are there; as root it installs the missing ones with apt-get, otherwise it
# names them in one line and fails.
set -euo pipefail

# command:Debian package
clients=(lftp:lftp curl:curl wget:wget python3:python3 openssl:openssl rclone:rclone
  ncftpput:ncftp tnftp:tnftp busybox:busybox zbarimg:zbar-tools unzip:unzip chromium:chromium)

missing=()
for pair in "${clients[@]}"; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "make test: the tests need these missing packages: apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "make test: installing test clients: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Another apt run may hold the lock for a while: wait for it rather than fail.
apt=(apt-get -qq -o DPkg::Lock::Timeout=300)
"${apt[@]}" update >/dev/null
"${apt[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null
for pair in "${clients[@]}"; do
  if ! command -v "${pair%%:*}" >/dev/null 2>&1; then
    echo "make test: ${pair%%:*} is still missing after installing ${pair#*:}" >&2
    exit 1
  fi
done
