# Sourced by build-images.sh: bluegreen-test/backend:1|v1|v2|v3, a Python backend like the service bluegreen is built
# for (uvicorn + Starlette, streaming answers, WebSockets; tests/images/README.md). Built FROM bluegreen-test/python:3
# (Debian's python3) with the pure-Python wheels of tests/images/backend/requirements.lock, pinned with their hashes:
# `pip download --require-hashes` fetches them once from pip's configured index into a cache per lock file, and
# they are unzipped into /usr/local/lib/python3.X/dist-packages (a pure wheel's install is its unzipped contents),
# so the image holds no pip. The label hash covers the python image's own label, the lock, the app and the scripts.

BACKEND_DIR="$IMAGES_DIR/backend"
BACKEND_APP=/usr/local/lib/bluegreen-backend/app.py


# Print the directory holding the lock's wheels: the cache when complete (SHA256SUMS is written last), else
# downloaded now and then cached.
backend_wheels() {
    local lock=$1 cache key dir
    cache=$(cache_root bluegreen-wheels "${BLUEGREEN_WHEEL_CACHE:-}")
    key=lock-$(sha256sum "$lock" | cut -c1-16)
    dir="$cache/$key"
    if [[ -f $dir/SHA256SUMS ]] && (cd "$dir" && sha256sum --quiet -c SHA256SUMS >/dev/null 2>&1); then
        echo "$dir"
        return
    fi
    local pip=${PYTHON:-python3}
    "$pip" -m pip --version >/dev/null 2>&1 || die "$pip -m pip missing (apt-get install python3-pip)"
    local got="$WORK/wheels"
    mkdir -p "$got"
    # Pure wheels only, no dependency resolution: the lock lists every wheel, each with its hash.
    "$pip" -m pip download -q --no-deps --only-binary=:all: --require-hashes -r "$lock" -d "$got" \
        >"$WORK/pip.log" 2>&1 \
        || { cat "$WORK/pip.log" >&2; die "pip could not fetch the wheels of $lock from its configured index (pip config list)"; }
    (cd "$got" && sha256sum -- *.whl > SHA256SUMS)
    mkdir -p "$cache" || die "cannot create the wheel cache $cache (set BLUEGREEN_WHEEL_CACHE)"
    rm -rf "$cache/.$key".* "$dir"
    cp -r "$got" "$cache/.$key.$$"
    mv "$cache/.$key.$$" "$dir"
    log "cached $(grep -c '\.whl$' "$dir/SHA256SUMS") wheels in $dir" >&2
    echo "$dir"
}

# docker build -t $1 $2 with the classic builder (FROM an image that exists only here: no registry is asked);
# its output only when it fails.
backend_docker_build() {
    DOCKER_BUILDKIT=0 docker build -q -t "$1" "$2" >"$WORK/docker-build.log" 2>&1 \
        || { cat "$WORK/docker-build.log" >&2; die "docker build of $1 failed"; }
}

build_backend() {
    [[ " ${TARGETS[*]} " == *" python "* ]] || build_python
    local base="$PYTHON_REPO:3" lock="$BACKEND_DIR/requirements.lock"
    local base_label
    base_label=$(current_label "$base")
    [[ -n $base_label ]] || die "$base missing (build-images.sh python)"
    local hash
    hash=$(input_hash "backend $base_label" "$lock" "$BACKEND_DIR/app.py" "$ROOT/scripts/build-image-backend.sh" \
        "${COMMON_FILES[@]}")
    local refs=("$BACKEND_REPO:1") v
    for v in "${APP_VERSIONS[@]}"; do refs+=("$BACKEND_REPO:$v"); done
    stale "$hash" "$BACKEND_REPO" "${refs[@]}" || return 0
    log "building $BACKEND_REPO (input hash $hash)"
    local old wheels
    old=$(image_ids "${refs[@]}")
    wheels=$(backend_wheels "$lock")
    local interpreter py
    interpreter=$(readlink -f /usr/bin/python3)
    py=$(basename "$interpreter")
    local context="$WORK/backend" site
    site="$context/rootfs/usr/local/lib/$py/dist-packages"
    mkdir -p "$site"
    local wheel
    for wheel in "$wheels"/*.whl; do
        "$interpreter" -I -m zipfile -e "$wheel" "$site" || die "cannot unpack $wheel"
    done
    install -D -m 0644 "$BACKEND_DIR/app.py" "$context/rootfs$BACKEND_APP"
    "$interpreter" -I -m compileall -q -j 0 --invalidation-mode unchecked-hash -s "$context/rootfs" -p / \
        "$context/rootfs/usr/local/lib" >/dev/null || die "compileall failed in $context/rootfs"
    cat > "$context/Dockerfile" <<EOF
FROM $base
COPY rootfs/ /
EXPOSE 8000
ENTRYPOINT ["python3", "$BACKEND_APP"]
CMD []
LABEL $LABEL=$hash
EOF
    backend_docker_build "$BACKEND_REPO:1" "$context" < /dev/null
    for v in "${APP_VERSIONS[@]}"; do
        printf 'FROM %s\nENV APP_VERSION=%s\n' "$BACKEND_REPO:1" "$v" | backend_docker_build "$BACKEND_REPO:$v" -
    done
    docker run --rm --network none --entrypoint python3 "$BACKEND_REPO:1" -I -c \
        'import sys; sys.path.append("/usr/local/lib/bluegreen-backend"); import app' >/dev/null \
        || die "$BACKEND_REPO:1: the app does not import"
    log "built ${refs[*]}"
    drop_replaced $old
}
