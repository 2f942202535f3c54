#!/usr/bin/env bash
# Offline Docker setup for the docker driver's tests and benchmark (no registry is reachable here).
#   1. installs Debian docker.io and busybox-static when missing (apt-get update at most once);
#   2. starts dockerd in the background when no engine answers (log: $NOMADTS_DOCKERD_LOG), and waits
#      (bounded) until `docker info` works;
#   3. builds the test image nomadts/busybox:latest with `docker import` from a rootfs made of
#      busybox-static and its applet symlinks, unless it is already present.
# Idempotent: run it as often as you like. Needs root for steps 1 and 2.
set -euo pipefail

IMAGE="${NOMADTS_TEST_IMAGE:-nomadts/busybox:latest}"
DOCKERD_LOG="${NOMADTS_DOCKERD_LOG:-/var/log/nomadts-dockerd.log}"
DOCKERD_WAIT_S="${NOMADTS_DOCKERD_WAIT_S:-90}"
export DEBIAN_FRONTEND=noninteractive

log() { echo "docker-image: $*" >&2; }

apt_updated=0
apt_install() {
  if [ "$(id -u)" != 0 ]; then
    log "need root to install $* (missing)"; exit 1
  fi
  if [ "$apt_updated" = 0 ]; then
    apt-get -o DPkg::Lock::Timeout=300 update -qq
    apt_updated=1
  fi
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "$@" >/dev/null
}

engine_up() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }
image_present() { engine_up && docker image inspect "$IMAGE" >/dev/null 2>&1; }

# Only what is missing for what is left to do: an engine that answers needs no dockerd, a
# present image needs no busybox.
need=()
if ! engine_up; then
  { command -v dockerd >/dev/null 2>&1 && command -v docker >/dev/null 2>&1; } || need+=(docker.io)
fi
if ! image_present; then
  # The image has no libc: it needs the static busybox (Debian's plain `busybox` is dynamic).
  dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
fi
if [ "${#need[@]}" -gt 0 ]; then
  log "installing ${need[*]}"
  apt_install "${need[@]}"
fi

if ! docker info >/dev/null 2>&1; then
  if ! pgrep -x dockerd >/dev/null 2>&1; then
    log "starting dockerd (log: $DOCKERD_LOG)"
    mkdir -p "$(dirname "$DOCKERD_LOG")"
    # setsid + nohup: the engine outlives this script and the CI step's process group.
    setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
  fi
  deadline=$((SECONDS + DOCKERD_WAIT_S))
  until docker info >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "dockerd did not answer within ${DOCKERD_WAIT_S}s; last log lines:"
      tail -n 30 "$DOCKERD_LOG" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
fi
log "engine: $(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?')"

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log "image $IMAGE present"
  exit 0
fi

if ! /bin/busybox --list >/dev/null 2>&1; then
  log "/bin/busybox is not a multi-call busybox (install busybox-static)"; exit 1
fi
rootfs="$(mktemp -d)"
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,proc,sys,dev,alloc,local,secrets}
chmod 1777 "$rootfs/tmp"
cp /bin/busybox "$rootfs/bin/busybox"
# One symlink per applet (sh, sleep, cat, nc, httpd, ...), all in /bin.
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
log "importing $IMAGE"
tar -C "$rootfs" -c . | docker import \
  --change 'CMD ["/bin/sh"]' \
  --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
  - "$IMAGE" >/dev/null
log "image $IMAGE built"
