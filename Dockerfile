# Dockerfile - the kubevoxd container image.
#
# Two stages.  The first, on Debian, compiles a Release build and assembles
# the runtime file tree in /rootfs: kubevoxd, exactly the shared libraries
# ldd says it needs with the dynamic loader, a passwd/group naming the
# unprivileged user 10001, an empty /tmp, the directories asterisk.conf
# points at, the English and French prompts and the music on hold.  The second stage is that
# tree on `scratch`: no shell, no package manager, nothing to patch but
# what kubevoxd uses, about 27 MB.
#
# No configuration is baked in: the Asterisk-style files are mounted at
# /etc/kubevox (a ConfigMap and a Secret on Kubernetes; see
# docs/kubernetes.md), which kubevoxd watches and reloads on change.
#
#   docker build -t kubevox:latest .
#   podman build --pull=never --build-arg BASE=localhost/debian:bookworm-slim \
#       -t kubevox:latest .       (machines without a registry; see
#                                  scripts/podman-setup.sh)

ARG BASE=debian:bookworm-slim

FROM ${BASE} AS build
# Lets a test clean up its own old builds (podman image prune --filter).
LABEL io.kubevox.image=build

# GSM prompts: Asterisk's core sounds in GSM 6.10 take a tenth of the room
# of the 8 kHz WAV ones and kubevoxd plays them to G.711 phones as they
# are.  Music on hold likewise: asterisk-moh-opsound-gsm (1.8 MB) rather
# than the -wav package the tests use (17 MB, which would take the image
# past 40 MB); kubevoxd decodes either once into G.711.  The plain asterisk-core-sounds-{en,fr} packages only add the en/
# and fr/ links to the voice directories, which the copy below follows.
# libcmocka-dev is there because CMakeLists.txt looks for it even when
# only the daemon is built.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      gcc libc6-dev make cmake pkg-config binutils \
      libuv1-dev libssl-dev libhiredis-dev libmicrohttpd-dev libsndfile1-dev \
      libc-ares-dev \
      libcmocka-dev \
      asterisk-core-sounds-en-gsm asterisk-core-sounds-en \
      asterisk-core-sounds-fr-gsm asterisk-core-sounds-fr \
      asterisk-moh-opsound-gsm \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY CMakeLists.txt ./
COPY src/ src/
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null \
 && cmake --build build -j "$(nproc)" --target kubevoxd

# The runtime tree.  Top-level links such as /lib -> usr/lib are recreated
# first so that libraries land where the loader looks for them on any
# architecture, whatever path ldd prints.  The last step runs kubevoxd in
# the tree, so a missing library fails the build, not the first pod.
RUN set -eu; \
    r=/rootfs; \
    for d in bin sbin lib lib32 lib64 libx32; do \
        if [ -L "/$d" ]; then \
            t=$(readlink "/$d"); mkdir -p "$r/$t"; ln -s "$t" "$r/$d"; \
        fi; \
    done; \
    mkdir -p "$r/usr/bin" "$r/etc/kubevox" "$r/tmp" \
             "$r/var/log/kubevox" "$r/var/spool/kubevox" \
             "$r/usr/share/asterisk/sounds/en" "$r/usr/share/asterisk/sounds/fr" \
             "$r/usr/share/asterisk/moh"; \
    install -m 0755 -s build/kubevoxd "$r/usr/bin/kubevoxd"; \
    libs=$(ldd build/kubevoxd | awk '$2 == "=>" && $3 ~ /^\// { print $3 } \
                                     $1 ~ /^\// { print $1 }'); \
    for f in $libs; do \
        mkdir -p "$r$(dirname "$f")"; \
        cp -L "$f" "$r$f"; \
    done; \
    printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' \
        'kubevox:x:10001:10001:KubeVox:/nonexistent:/sbin/nologin' > "$r/etc/passwd"; \
    printf '%s\n' 'root:x:0:' 'kubevox:x:10001:' > "$r/etc/group"; \
    printf '%s\n' 'hosts: files dns' > "$r/etc/nsswitch.conf"; \
    chmod 1777 "$r/tmp"; \
    chown 10001:10001 "$r/var/log/kubevox" "$r/var/spool/kubevox"; \
    cp -RL /usr/share/asterisk/sounds/en/. "$r/usr/share/asterisk/sounds/en/"; \
    cp -RL /usr/share/asterisk/sounds/fr/. "$r/usr/share/asterisk/sounds/fr/"; \
    test -s "$r/usr/share/asterisk/sounds/en/hello-world.gsm"; \
    test -s "$r/usr/share/asterisk/sounds/fr/hello-world.gsm"; \
    cp -RL /usr/share/asterisk/moh/. "$r/usr/share/asterisk/moh/"; \
    test -s "$r/usr/share/asterisk/moh/macroform-cold_day.gsm"; \
    chroot "$r" /usr/bin/kubevoxd -V

FROM scratch
COPY --from=build /rootfs/ /
LABEL org.opencontainers.image.title="KubeVox" \
      org.opencontainers.image.description="Self-healing SIP PBX for Kubernetes (kubevoxd)" \
      io.kubevox.image=runtime
# SIP, HTTP (health, metrics, reload) and rtp.conf's default RTP range.
EXPOSE 5060/udp 5060/tcp 8088/tcp 10000-20000/udp
USER 10001:10001
ENTRYPOINT ["/usr/bin/kubevoxd", "-C", "/etc/kubevox"]
