#!/usr/bin/env bash
# Install the Debian packages that tests, the demo and CI need; idempotent.
# Every requirement is checked first (dpkg / command -v); apt is not touched at all
# when everything is present, and `apt-get update` runs once before any install.
set -euo pipefail

JAVA_HOME_17=/usr/lib/jvm/java-17-openjdk-amd64

say() { echo "ensure-packages: $*"; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing=()
# need PACKAGE... -- CHECK-COMMAND...: queue the packages unless the check passes.
need() {
    local pkgs=()
    while [[ $1 != -- ]]; do pkgs+=("$1"); shift; done
    shift
    if ! "$@" >/dev/null 2>&1; then missing+=("${pkgs[@]}"); fi
}

has_docker() { command -v dockerd && command -v docker; }
# The build copies /bin/busybox into images: it must be the static build.
has_busybox_static() { installed busybox-static; }
has_nginx() { [[ -x /usr/sbin/nginx && -f /etc/nginx/mime.types ]]; }
has_java17() { [[ -x $JAVA_HOME_17/bin/java ]]; }
has_groovy() { command -v groovy; }
has_cc_static() { command -v gcc && installed libc6-dev; }
# Debian's python3 has venv but no ensurepip without python3-venv; other Pythons
# (pyenv's) have both.
has_venv() { python3 -c 'import venv, ensurepip'; }
has_node() { command -v node && command -v npm; }
# The docker runner's test image (bluegreen-test/python:3) is Debian's python3 and its standard library.
has_debian_python() { [[ $(readlink -f /usr/bin/python3) == /usr/bin/python3.* ]] && installed libpython3-stdlib; }

need docker.io                 -- has_docker
need busybox-static            -- has_busybox_static
need nginx                     -- has_nginx
need openjdk-17-jre-headless   -- has_java17
need groovy                    -- has_groovy
need gcc libc6-dev             -- has_cc_static
need python3-venv              -- has_venv
need nodejs npm                -- has_node
need python3                   -- has_debian_python
# The multi-node Swarm tests (tests/swarm_nodes.py) run the registry their nodes pull from.
need docker-registry           -- command -v docker-registry

if [[ ${#missing[@]} -eq 0 ]]; then
    say "all packages present"
    exit 0
fi

[[ $(id -u) == 0 ]] || { echo "ensure-packages: error: missing ${missing[*]} and not root" >&2; exit 1; }
say "installing: ${missing[*]}"
# NEEDRESTART_SUSPEND: docker.io recommends needrestart, which would try to restart
# services after the install. policy-rc.d (if any) keeps services from starting.
export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
apt-get update -q
apt-get install -y -q -o DPkg::Lock::Timeout=300 "${missing[@]}"
say "done"
