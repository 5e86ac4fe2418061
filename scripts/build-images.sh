#!/usr/bin/env bash
# Build the local test/demo images without any registry (tests/images/README.md):
#   bluegreen-test/app:1           the C test app, APP_VERSION unset ("dev")
#   bluegreen-test/app:v1|v2|v3    the same rootfs with ENV APP_VERSION=vN baked in
#                                  (distinct image ids, shared layer: real "releases")
#   bluegreen-test/nginx:1         Debian's nginx binary + its libraries + busybox
#   bluegreen-test/nginx:1.30      nginx 1.30 + njs from Debian testing's pinned .debs
#                                  (scripts/build-image-nginx-njs.sh; cached .debs)
#   bluegreen-test/python:3        Debian's python3 and its standard library + busybox: the docker
#                                  runner's image in tests, a clean base for images FROM it
#   bluegreen-test/backend:1|v1|v2|v3  FROM python:3, + uvicorn/Starlette wheels (pinned with hashes in
#                                  tests/images/backend/requirements.lock) and tests/images/backend/app.py
# Each image is a `docker import` of a tarball assembled here and carries the label
# bluegreen.test.input-hash; an image whose label matches the current inputs is kept,
# so a warm run only hashes a few files.
# Needs: docker engine (scripts/ensure-docker.sh), gcc + libc6-dev, busybox-static,
# nginx, Debian's python3 (scripts/ensure-packages.sh); for nginx:1.30 a Debian mirror
# (first build only); for the backend `python3 -m pip` and pip's configured index (first build only).
# Usage: build-images.sh [--force] [app|nginx|nginx-njs|python|backend ...]   (default: all five)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IMAGES_DIR="$ROOT/tests/images"
APP_REPO=${BLUEGREEN_TEST_APP_REPO:-bluegreen-test/app}
NGINX_REPO=${BLUEGREEN_TEST_NGINX_REPO:-bluegreen-test/nginx}
PYTHON_REPO=${BLUEGREEN_TEST_PYTHON_REPO:-bluegreen-test/python}
BACKEND_REPO=${BLUEGREEN_TEST_BACKEND_REPO:-bluegreen-test/backend}
APP_VERSIONS=(v1 v2 v3)
LABEL=bluegreen.test.input-hash
NGINX_BIN=/usr/sbin/nginx
BUSYBOX=/bin/busybox

log() { echo "build-images: $*"; }
die() { echo "build-images: error: $*" >&2; exit 1; }

FORCE=0
TARGETS=()
for arg in "$@"; do
    case $arg in
        --force) FORCE=1 ;;
        app|nginx|nginx-njs|python|backend) TARGETS+=("$arg") ;;
        *) die "unknown argument '$arg' (usage: build-images.sh [--force] [app|nginx|nginx-njs|python|backend ...])" ;;
    esac
done
[[ ${#TARGETS[@]} -gt 0 ]] || TARGETS=(app nginx nginx-njs python backend)

command -v docker >/dev/null || die "docker CLI missing (run scripts/ensure-docker.sh)"
docker info >/dev/null 2>&1 || die "docker engine not answering (run scripts/ensure-docker.sh)"
command -v gcc >/dev/null || die "gcc missing (run scripts/ensure-packages.sh)"
[[ -x $BUSYBOX ]] && "$BUSYBOX" --list >/dev/null 2>&1 \
    || die "$BUSYBOX missing or not busybox (apt-get install busybox-static)"
[[ -x $NGINX_BIN ]] || die "$NGINX_BIN missing (apt-get install nginx)"
[[ -f /etc/nginx/mime.types ]] || die "/etc/nginx/mime.types missing (apt-get install nginx-common)"

# Two concurrent builds (make + a pytest fixture) must not race on the same tags.
exec 9>/tmp/bluegreen-build-images.lock
flock 9

WORK=$(mktemp -d /tmp/bluegreen-build-images.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# Libraries the given binaries load, as `ldd` resolves them here (paths as listed).
libs_of() {
    # (with several files ldd heads each list with "file:", which is not a library)
    ldd "$@" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $1 !~ /:$/ { print $1 }' | sort -u
}
nginx_libs() { libs_of "$NGINX_BIN"; }

# Copy the file each library path points to, under the path the loader asks for.
install_libs() {
    local rootfs=$1 lib; shift
    for lib in "$@"; do
        install -D -m 0755 "$(readlink -f "$lib")" "$rootfs$lib"
    done
}

# sha256 over the named files' contents plus extra strings, one line each.
input_hash() {
    local extra=$1; shift
    { sha256sum "$@" | awk '{ print $1 }'; printf '%s\n' "$extra"; } | sha256sum | cut -c1-16
}

current_label() {
    docker image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$1" 2>/dev/null || true
}

# True when every given tag exists and carries the hash.
up_to_date() {
    local hash=$1; shift
    local ref
    for ref in "$@"; do
        [[ "$(current_label "$ref")" == "$hash" ]] || return 1
    done
}

# Whether to build: false, saying so, when every given tag carries the hash (unless --force); true otherwise.
stale() {
    local hash=$1 what=$2; shift 2
    if [[ $FORCE == 0 ]] && up_to_date "$hash" "$@"; then
        log "$what up to date (input hash $hash)"
        return 1
    fi
}

# Image ids currently behind the given tags (to drop after they are replaced).
image_ids() { docker image inspect -f '{{.Id}}' "$@" 2>/dev/null | sort -u || true; }

# Remove replaced images nothing uses any more; ones a container still runs stay.
drop_replaced() {
    local id
    for id in "$@"; do
        docker image rm "$id" >/dev/null 2>&1 || true
    done
}

# Where downloads are kept between builds: $2 when set, else /var/cache/$1 (root), else the user's cache.
cache_root() {
    if [[ -n $2 ]]; then
        echo "$2"
    elif [[ -w /var/cache ]]; then
        echo "/var/cache/$1"
    else
        echo "${XDG_CACHE_HOME:-$HOME/.cache}/$1"
    fi
}

# Deterministic tarball of a rootfs directory on stdout.
pack() {
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$1" -c .
}

add_busybox() {
    local rootfs=$1 applet
    install -D -m 0755 "$BUSYBOX" "$rootfs/bin/busybox"
    for applet in $("$BUSYBOX" --list); do
        [[ $applet == busybox || -e "$rootfs/bin/$applet" ]] && continue
        ln -s busybox "$rootfs/bin/$applet"
    done
    mkdir -p "$rootfs/usr/bin"
    ln -sf /bin/busybox "$rootfs/usr/bin/env"
    install -d -m 1777 "$rootfs/tmp"
    install -D -m 0644 "$IMAGES_DIR/common/passwd" "$rootfs/etc/passwd"
    install -D -m 0644 "$IMAGES_DIR/common/group" "$rootfs/etc/group"
    install -D -m 0644 "$IMAGES_DIR/common/nsswitch.conf" "$rootfs/etc/nsswitch.conf"
}

COMMON_FILES=("$IMAGES_DIR/common/passwd" "$IMAGES_DIR/common/group"
              "$IMAGES_DIR/common/nsswitch.conf" "$BUSYBOX" "${BASH_SOURCE[0]}")

# ---------------------------------------------------------------- app
build_app() {
    local src="$IMAGES_DIR/app/app.c"
    local toolchain
    toolchain="$(gcc --version | head -1) $(dpkg-query -W -f='${Version}' libc6-dev 2>/dev/null || true)"
    local hash
    hash=$(input_hash "$toolchain" "$src" "${COMMON_FILES[@]}")
    local refs=("$APP_REPO:1")
    local v
    for v in "${APP_VERSIONS[@]}"; do refs+=("$APP_REPO:$v"); done
    stale "$hash" "$APP_REPO" "${refs[@]}" || return 0
    log "building $APP_REPO (input hash $hash)"
    local old
    old=$(image_ids "${refs[@]}")
    local rootfs="$WORK/app-rootfs"
    mkdir -p "$rootfs/usr/local/bin"
    gcc -static -O2 -pthread -Wall -o "$rootfs/usr/local/bin/app" "$src"
    strip "$rootfs/usr/local/bin/app" 2>/dev/null || true
    add_busybox "$rootfs"
    pack "$rootfs" > "$WORK/app.tar"

    local common=(--change 'ENTRYPOINT ["/usr/local/bin/app"]'
                  --change 'ENV PATH=/usr/local/bin:/bin:/usr/bin'
                  --change 'EXPOSE 8000'
                  --change "LABEL $LABEL=$hash")
    docker import "${common[@]}" "$WORK/app.tar" "$APP_REPO:1" >/dev/null
    for v in "${APP_VERSIONS[@]}"; do
        docker import "${common[@]}" --change "ENV APP_VERSION=$v" "$WORK/app.tar" "$APP_REPO:$v" >/dev/null
    done
    log "built ${refs[*]}"
    drop_replaced $old
}

# ---------------------------------------------------------------- nginx
build_nginx() {
    local libs
    mapfile -t libs < <(nginx_libs)
    [[ ${#libs[@]} -gt 0 ]] || die "ldd found no libraries for $NGINX_BIN"
    local hash
    hash=$(input_hash "nginx" "$NGINX_BIN" "${libs[@]}" /etc/nginx/mime.types \
        "$IMAGES_DIR/nginx/nginx.conf" "$IMAGES_DIR/nginx/default.conf" "${COMMON_FILES[@]}")
    local ref="$NGINX_REPO:1"
    stale "$hash" "$ref" "$ref" || return 0
    log "building $ref (input hash $hash)"
    local old
    old=$(image_ids "$ref")
    local rootfs="$WORK/nginx-rootfs"
    install -D -m 0755 "$NGINX_BIN" "$rootfs/usr/sbin/nginx"
    install_libs "$rootfs" "${libs[@]}"
    add_busybox "$rootfs"
    install -D -m 0644 /etc/nginx/mime.types "$rootfs/etc/nginx/mime.types"
    install -D -m 0644 "$IMAGES_DIR/nginx/nginx.conf" "$rootfs/etc/nginx/nginx.conf"
    install -D -m 0644 "$IMAGES_DIR/nginx/default.conf" "$rootfs/etc/nginx/conf.d/default.conf"
    mkdir -p "$rootfs/var/log/nginx" "$rootfs/run" "$rootfs/usr/share/nginx/html" "$rootfs/var/www"
    local d
    for d in body proxy fastcgi scgi uwsgi; do mkdir -p "$rootfs/var/lib/nginx/$d"; done
    pack "$rootfs" > "$WORK/nginx.tar"
    docker import \
        --change 'ENTRYPOINT ["/usr/sbin/nginx"]' \
        --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'EXPOSE 80' \
        --change "LABEL $LABEL=$hash" \
        "$WORK/nginx.tar" "$ref" >/dev/null
    log "built $ref"
    drop_replaced $old
}

# ---------------------------------------------------------------- python
# Debian's python3 (/usr/bin/python3 → python3.X) with its whole standard library: the files of the packages
# python3.X-minimal, libpython3.X-minimal and libpython3.X-stdlib (docs, man pages and lintian/binfmt files
# left out), the libraries ldd lists for the interpreter and every extension module in lib-dynload, busybox, and
# the standard library compiled to unchecked-hash .pyc (reproducible: no source timestamps). Nothing else: no pip,
# no dist-packages. The docker runner's image in tests, and a base other images are built FROM.
build_python() {
    local interpreter py
    interpreter=$(readlink -f /usr/bin/python3)
    py=$(basename "$interpreter")
    [[ $py =~ ^python3\.[0-9]+$ ]] || die "/usr/bin/python3 is not Debian's python3.X ($interpreter)"
    local packages=("$py-minimal" "lib$py-minimal" "lib$py-stdlib") pkg
    for pkg in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' \
            || die "$pkg missing (apt-get install $py)"
    done
    local versions libs
    versions=$(dpkg-query -W -f='${Package}=${Version}\n' "${packages[@]}")
    mapfile -t libs < <(libs_of "$interpreter" "/usr/lib/$py/lib-dynload/"*.so)
    local hash
    hash=$(input_hash "python $versions" "${libs[@]}" "${COMMON_FILES[@]}")
    local ref="$PYTHON_REPO:3"
    stale "$hash" "$ref" "$ref" || return 0
    log "building $ref ($py; input hash $hash)"
    local old
    old=$(image_ids "$ref")
    local rootfs="$WORK/python-rootfs"
    mkdir -p "$rootfs"
    dpkg -L "${packages[@]}" \
        | grep -v -E '^/usr/share/(doc|man|lintian|binfmts)/|^/usr/lib/binfmt\.d/' \
        | while read -r path; do [[ -f $path || -L $path ]] && printf '%s\n' "${path#/}"; done \
        | tar -C / --no-recursion -T - -cf - | tar -C "$rootfs" -xf -
    install_libs "$rootfs" "${libs[@]}"
    ln -s "$py" "$rootfs/usr/bin/python3"
    add_busybox "$rootfs"
    install -d -m 0700 "$rootfs/root"
    "$interpreter" -I -m compileall -q -j 0 --invalidation-mode unchecked-hash -s "$rootfs" -p / \
        "$rootfs/usr/lib/$py" >/dev/null || die "compileall failed in $rootfs/usr/lib/$py"
    pack "$rootfs" > "$WORK/python.tar"
    docker import \
        --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["python3"]' \
        --change "LABEL $LABEL=$hash" \
        "$WORK/python.tar" "$ref" >/dev/null
    local version
    version=$(docker run --rm --network none "$ref" python3 -I -c 'import sys, ssl, sqlite3, ctypes; print(sys.version.split()[0])') \
        || die "$ref: python3 does not start, or a standard module does not import"
    log "built $ref (python $version)"
    drop_replaced $old
}

# shellcheck source=build-image-nginx-njs.sh
source "$ROOT/scripts/build-image-nginx-njs.sh"
# shellcheck source=build-image-backend.sh
source "$ROOT/scripts/build-image-backend.sh"

for target in "${TARGETS[@]}"; do
    case $target in
        app) build_app ;;
        nginx) build_nginx ;;
        nginx-njs) build_nginx_njs ;;
        python) build_python ;;
        backend) build_backend ;;
    esac
done
