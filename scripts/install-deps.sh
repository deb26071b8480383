#!/usr/bin/env bash
# Installs what building, running and testing KubeVox needs on Debian 12.
# Idempotent: it asks dpkg first and calls apt-get only for what is missing,
# so `make run` and `make test` can call it every time at no cost.
set -euo pipefail

BUILD_PKGS="build-essential cmake pkg-config libuv1-dev libssl-dev libhiredis-dev
  libmicrohttpd-dev libsndfile1-dev libcmocka-dev libc-ares-dev"
# Playback prompts, 8 kHz WAV, in /usr/share/asterisk/sounds/{en,fr}: the
# -wav packages hold the files (en_US_f_Allison, fr_CA_f_June), the plain
# ones register the en and fr directory links through update-alternatives.
# Music on hold: asterisk-moh-opsound-wav puts Asterisk's opsound classes
# in /usr/share/asterisk/moh (musiconhold.conf's directory=moh under
# Debian's astdatadir); `make run` plays them and the tests compare what
# the relay sends with them.
SOUND_PKGS="asterisk-core-sounds-en-wav asterisk-core-sounds-en
  asterisk-core-sounds-fr-wav asterisk-core-sounds-fr asterisk-moh-opsound-wav"
# kamailio and inotify-tools: the front door's tests (k8s/front/front.sh).
TEST_PKGS="sip-tester redis-server redis-sentinel clang libclang-rt-14-dev python3 curl
  iproute2 procps dnsmasq-base kamailio inotify-tools"
# Kamailio is the peer of bench/; register.sh's Redis mode gives it and
# kubevoxd a redis-server each (redis-cli comes with it) and Kamailio
# reaches Redis through db_redis.
BENCH_PKGS="kamailio kamailio-redis-modules redis-server"

want="$BUILD_PKGS $SOUND_PKGS"
case "${1:-build}" in
  build) ;;
  test)  want="$want $TEST_PKGS" ;;
  bench) want="$want $TEST_PKGS $BENCH_PKGS" ;;
  *) echo "usage: $0 [build|test|bench]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "install-deps: missing packages:$missing (run as root to install them)" >&2
  exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
