#!/usr/bin/env bash
# Make sure a Docker engine answers on this machine; idempotent.
#   - `docker info` answers            -> nothing to do
#   - no dockerd binary                -> apt-get install docker.io
#   - dockerd not running              -> start it in the background (it outlives this
#                                         script; log: /tmp/bluegreen-dockerd.log)
#   - then poll the socket and `docker info` until DOCKER_WAIT_SECONDS (default 60).
# Machines here have no init system that starts services, so CI calls this first.
set -euo pipefail

LOG=${BLUEGREEN_DOCKERD_LOG:-/tmp/bluegreen-dockerd.log}
DEADLINE_S=${DOCKER_WAIT_SECONDS:-60}
SOCK=/var/run/docker.sock
[[ ${DOCKER_HOST:-} == unix://* ]] && SOCK=${DOCKER_HOST#unix://}

say() { echo "ensure-docker: $*"; }
die() { echo "ensure-docker: error: $*" >&2; exit 1; }

# `timeout`: a half-started engine can accept the connection and never answer.
engine_answers() { command -v docker >/dev/null && timeout 10 docker info >/dev/null 2>&1; }

if engine_answers; then
    say "docker engine is running"
    exit 0
fi
[[ $(id -u) == 0 ]] || die "docker engine not answering and not root: cannot install or start it"

if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
    say "installing docker.io"
    export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
    apt-get update -q
    apt-get install -y -q -o DPkg::Lock::Timeout=300 docker.io
fi

# What Debian's /etc/init.d/docker does before starting dockerd: mount the cgroup
# hierarchies when nothing has (a bare VM or chroot), and raise the fd limit.
mount_cgroups() {
    [[ -e /proc/cgroups && -d /sys/fs/cgroup ]] || return 0
    [[ -e /sys/fs/cgroup/cgroup.controllers ]] && return 0          # cgroup v2
    mountpoint -q /sys/fs/cgroup/memory 2>/dev/null && return 0      # v1, mounted
    say "mounting cgroup hierarchies"
    mountpoint -q /sys/fs/cgroup || mount -t tmpfs -o uid=0,gid=0,mode=0755 cgroup /sys/fs/cgroup
    local sys
    for sys in $(awk '!/^#/ { if ($4 == 1) print $1 }' /proc/cgroups); do
        mkdir -p "/sys/fs/cgroup/$sys"
        mountpoint -q "/sys/fs/cgroup/$sys" \
            || mount -n -t cgroup -o "$sys" cgroup "/sys/fs/cgroup/$sys" \
            || rmdir "/sys/fs/cgroup/$sys" || true
    done
}

dockerd_pid() { pidof -s dockerd || true; }

pid=$(dockerd_pid)
if [[ -n $pid ]]; then
    say "dockerd already running (pid $pid), waiting for it to answer"
else
    mount_cgroups
    say "starting dockerd (log: $LOG)"
    # setsid + nohup: dockerd must survive this script and the CI step that ran it.
    (
        ulimit -n 1048576 2>/dev/null || true
        exec setsid nohup dockerd ${BLUEGREEN_DOCKERD_ARGS:-} >>"$LOG" 2>&1 </dev/null
    ) &
    pid=$!
fi

start=$SECONDS
last_report=-1
while true; do
    elapsed=$((SECONDS - start))
    if [[ -S $SOCK ]] && engine_answers; then
        say "docker engine answers after ${elapsed}s"
        exit 0
    fi
    if ! kill -0 "$pid" 2>/dev/null && [[ -z $(dockerd_pid) ]]; then
        echo "ensure-docker: error: dockerd exited during startup; last lines of $LOG:" >&2
        tail -n 20 "$LOG" >&2 || true
        exit 1
    fi
    if (( elapsed >= DEADLINE_S )); then
        die "docker engine did not answer within ${DEADLINE_S}s (see $LOG)"
    fi
    if (( elapsed > 0 && elapsed != last_report && elapsed % 3 == 0 )); then
        say "waiting for dockerd… ${elapsed}s / ${DEADLINE_S}s"
        last_report=$elapsed
    fi
    # Poll interval, not synchronisation: the loop condition decides.
    sleep 0.2
done
