#!/usr/bin/env bash
# podman-setup.sh - makes root podman usable on a Debian 12 machine and gives
# it the base image the Dockerfile builds from.
#
# These machines reach Debian's package mirror but no container registry, so
# `FROM debian:bookworm-slim` cannot be pulled: the same userland is made
# with debootstrap and imported as localhost/debian:bookworm-slim.  That
# takes about a minute, so the image is also saved (podman save | gzip)
# under /var/cache/kubevox/ and later runs load it in seconds.
#
# podman 4.3 needs two settings here before anything runs (see
# ../shared/podman.md): root cannot raise RLIMIT_NOFILE to podman's default,
# and crun refuses the hybrid cgroup layout where runc works.  They go into
# /etc/containers/containers.conf only when that file does not exist: an
# administrator's own file is never touched.
#
# Usage: scripts/podman-setup.sh      (as root; idempotent)
# Exit status: 0 podman works and the base image is present; 77 podman
# cannot run on this machine (the reason is printed); 1 anything else.
set -euo pipefail

BASE_IMAGE=localhost/debian:bookworm-slim
CACHE_DIR=${KV_CACHE_DIR:-/var/cache/kubevox}
BASE_TAR=$CACHE_DIR/debian-bookworm-slim.tar.gz
MIRROR=${KV_DEBIAN_MIRROR:-http://deb.debian.org/debian}
CONF=/etc/containers/containers.conf
PKGS="podman runc catatonit debootstrap"

say()
{
	printf 'podman-setup: %s\n' "$*"
}

cannot_run()
{
	say "podman cannot run here: $*" >&2
	exit 77
}

if [ "$(id -u)" != 0 ]; then
	cannot_run "root podman is needed and this is uid $(id -u)"
fi

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	command -v apt-get >/dev/null || cannot_run "no apt-get to install$missing"
	say "installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086
	if ! { apt-get update -q >/dev/null &&
	       apt-get install -y -q --no-install-recommends $missing >/dev/null; }; then
		cannot_run "apt-get could not install$missing"
	fi
fi

if [ ! -e "$CONF" ]; then
	say "writing $CONF (runc, cgroupfs, file events, ulimits root can set)"
	mkdir -p /etc/containers
	cat > "$CONF" <<'EOF'
# Written by KubeVox's scripts/podman-setup.sh because this file was absent.
# Root cannot raise RLIMIT_NOFILE to podman's default here, and crun 1.8
# refuses the hybrid cgroup v1/v2 layout where runc works.
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
else
	say "$CONF exists, left as it is"
fi

podman info >/dev/null 2>&1 || cannot_run "podman info fails: $(podman info 2>&1 | tail -n 1)"

if podman image exists "$BASE_IMAGE"; then
	say "$BASE_IMAGE present"
elif [ -s "$BASE_TAR" ]; then
	say "loading $BASE_IMAGE from $BASE_TAR"
	podman load -q -i "$BASE_TAR" >/dev/null
else
	root=$(mktemp -d /var/tmp/kv-debootstrap.XXXXXX)
	trap 'rm -rf "$root"' EXIT
	say "debootstrap of bookworm from $MIRROR (about a minute)"
	if ! debootstrap --variant=minbase bookworm "$root" "$MIRROR" > "$root.log" 2>&1; then
		tail -n 20 "$root.log" >&2
		rm -f "$root.log"
		say "debootstrap failed" >&2
		exit 1
	fi
	rm -f "$root.log"
	# What Docker's debian:bookworm-slim leaves out too: apt lists,
	# documentation, man pages and locales.
	tar -C "$root" -c --exclude='./var/lib/apt/lists/*' \
		--exclude='./var/cache/apt/*' --exclude='./usr/share/doc/*' \
		--exclude='./usr/share/man/*' --exclude='./usr/share/locale/*' . |
		podman import -q --change 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >/dev/null
	mkdir -p "$CACHE_DIR"
	podman save -q "$BASE_IMAGE" | gzip -1 > "$BASE_TAR.tmp"
	mv "$BASE_TAR.tmp" "$BASE_TAR"
	say "$BASE_IMAGE imported and cached in $BASE_TAR"
fi

# A container must really start: storage, runtime and cgroups all work.
if ! out=$(podman run --rm --network none "$BASE_IMAGE" true 2>&1); then
	cannot_run "a container does not start: $out"
fi
say "ready"
