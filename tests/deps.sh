#!/bin/sh
# deps.sh PACKAGE... — installs the Debian packages that are not installed yet (apt-get; sudo when not
# root). Idempotent: when everything is present it only asks dpkg-query.
set -eu
missing=""
for p in "$@"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "make deps: installing$missing"
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends $missing
