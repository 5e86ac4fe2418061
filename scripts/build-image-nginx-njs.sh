# Sourced by build-images.sh (uses its log/die/input_hash/up_to_date/pack/add_busybox and
# $WORK, $FORCE, $NGINX_REPO, $LABEL, $IMAGES_DIR, $COMMON_FILES): builds
#   bluegreen-test/nginx:1.30   nginx 1.30 + the njs http module from Debian testing
# Debian 12 has no njs module and nginx 1.22 lacks keepalive_min_timeout and
# js_shared_dict_zone, so this image is assembled from testing's packages, fetched with
# apt-get under a private configuration: the host's sources, lists and preferences are
# never read or written, and signatures are checked against the host's Debian keyring.
# The .debs are cached per pinned version set, so a rebuild needs no network; a warm
# run (label matches) touches neither apt nor the cache.

# The pins. Testing drops superseded versions: when one is gone, the build stops and
# names it; update these three together (same source package versions) and rebuild.
NJS_SUITE=forky
NJS_NGINX_VERSION=1.30.6-2              # nginx, nginx-common
NJS_MODULE_VERSION=1.0.2-2              # libnginx-mod-http-js (njs)
# Libraries of nginx and the module (what `ld.so --list` of both resolves to; the build
# checks that none is missing). libgcc-s1: glibc dlopens it to unwind threads, which
# ldd cannot show. These take the suite's current version on the first download and
# are then frozen in the cache with the pinned set.
NJS_LIB_PACKAGES=(libc6 libcrypt1 libpcre2-8-0 libssl3t64 zlib1g libzstd1 libqjs0 libxml2-16 libgcc-s1)
NJS_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
NJS_MODULE=/usr/lib/nginx/modules/ngx_http_js_module.so
NJS_TAG=1.30

# Where .debs are kept between builds (cache_root in build-images.sh).
njs_deb_cache_root() { cache_root bluegreen-debs "${BLUEGREEN_DEB_CACHE:-}"; }

# The Debian mirror the host's apt uses for its own release (BLUEGREEN_DEBIAN_MIRROR
# overrides; deb.debian.org when none is found). Reads apt's index targets only.
njs_mirror() {
    if [[ -n ${BLUEGREEN_DEBIAN_MIRROR:-} ]]; then
        echo "${BLUEGREEN_DEBIAN_MIRROR%/}"
        return
    fi
    local codename uri
    codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
    uri=$(apt-get indextargets --format '$(RELEASE) $(BASE_URI)' 'Identifier: Packages' 2>/dev/null \
        | awk -v rel="$codename" '$1 == rel && $2 ~ /^https?:/ { print $2; exit }')
    uri=${uri%/}
    uri=${uri%/dists/*}
    echo "${uri:-http://deb.debian.org/debian}"
}

# apt-get/apt-cache with a private sources list, lists, cache and preferences under $1.
njs_apt() {
    local dir=$1 tool=$2; shift 2
    "$tool" -q \
        -o Dir::Etc::SourceList="$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null \
        -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null \
        -o Dir::State::Lists="$dir/lists" -o Dir::State::Status=/dev/null \
        -o Dir::Cache="$dir/cache" -o Debug::NoLocking=1 \
        -o Acquire::Languages=none -o Acquire::AllowInsecureRepositories=false \
        -o APT::Get::AllowUnauthenticated=false \
        "$@"
}

# Download the pinned set into $1 (a new directory) and write SHA256SUMS last.
njs_download() {
    local dest=$1 mirror apt_dir
    mirror=$(njs_mirror)
    apt_dir="$WORK/njs-apt"
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$dest"
    # apt downloads as the _apt user: it must reach these (else it warns and runs as root).
    chmod 0711 "$WORK"
    if [[ $(id -u) == 0 ]] && id _apt >/dev/null 2>&1; then chown _apt "$dest"; fi
    [[ -r $NJS_KEYRING ]] || die "$NJS_KEYRING missing (apt-get install debian-archive-keyring)"
    echo "deb [signed-by=$NJS_KEYRING] $mirror $NJS_SUITE main" > "$apt_dir/sources.list"
    log "fetching the $NJS_SUITE index from $mirror (signatures checked with $NJS_KEYRING)"
    njs_apt "$apt_dir" apt-get update >"$WORK/njs-apt.log" 2>&1 \
        || die "apt-get update of $mirror $NJS_SUITE failed:$(printf '\n'; cat "$WORK/njs-apt.log")"
    grep '^W:' "$WORK/njs-apt.log" >&2 || true

    local pins=("nginx=$NJS_NGINX_VERSION" "nginx-common=$NJS_NGINX_VERSION"
                "libnginx-mod-http-js=$NJS_MODULE_VERSION") pin now
    for pin in "${pins[@]}"; do
        # `apt-cache show pkg=missing-version` prints nothing and exits 0: ask madison.
        now=$(njs_apt "$apt_dir" apt-cache madison "${pin%%=*}" 2>/dev/null \
            | awk -F' *[|] *' '{ print $2 }' | paste -sd, -)
        if [[ ",$now," != *",${pin#*=},"* ]]; then
            die "${pin%%=*} ${pin#*=} is no longer on $mirror $NJS_SUITE (it has ${now:-none}):" \
                "update the pins in ${BASH_SOURCE[0]}"
        fi
    done
    local libs=() lib
    for lib in "${NJS_LIB_PACKAGES[@]}"; do
        njs_apt "$apt_dir" apt-cache show "$lib/$NJS_SUITE" >/dev/null 2>&1 \
            || die "library package $lib is not on $mirror $NJS_SUITE: update NJS_LIB_PACKAGES in ${BASH_SOURCE[0]}"
        libs+=("$lib/$NJS_SUITE")
    done
    ( cd "$dest" && njs_apt "$apt_dir" apt-get download "${pins[@]}" "${libs[@]}" ) \
        >"$WORK/njs-download.log" 2>&1 \
        || die "apt-get download from $mirror $NJS_SUITE failed:$(printf '\n'; cat "$WORK/njs-download.log")"
    chown -R "$(id -u):$(id -g)" "$dest"
    ( cd "$dest" && sha256sum -- *.deb > SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS )
}

# Set NJS_DEBS to the directory holding the pinned set's .debs: the cache when complete
# and intact, else a fresh download that replaces it.
njs_debs() {
    local cache key dir
    cache=$(njs_deb_cache_root)
    key="${NJS_SUITE}_nginx-${NJS_NGINX_VERSION}_njs-${NJS_MODULE_VERSION}"
    dir="$cache/$key"
    if [[ -f $dir/SHA256SUMS ]] && ( cd "$dir" && sha256sum --quiet -c SHA256SUMS >/dev/null 2>&1 ); then
        log "using cached .debs in $dir"
        NJS_DEBS=$dir
        return
    fi
    mkdir -p "$cache" || die "cannot create the .deb cache $cache (set BLUEGREEN_DEB_CACHE)"
    # Download into the build's temp dir (gone on any failure), then move in whole;
    # leftovers of an interrupted move are safe to drop under build-images' lock.
    njs_download "$WORK/njs-debs"
    rm -rf "$cache/.$key".* "$dir"
    cp -r "$WORK/njs-debs" "$cache/.$key.$$"
    mv "$cache/.$key.$$" "$dir"
    log "cached $(ls "$dir" | grep -c '\.deb$') .debs in $dir"
    NJS_DEBS=$dir
}

# Fail unless the rootfs' own loader resolves every library of nginx and the module.
njs_check_libs() {
    local rootfs=$1 obj out
    local loader="$rootfs/usr/lib64/ld-linux-x86-64.so.2"
    [[ -x $loader ]] || die "no loader at ${loader#"$rootfs"} in the extracted packages"
    for obj in /usr/sbin/nginx "$NJS_MODULE"; do
        out=$("$loader" --library-path "$rootfs/usr/lib/x86_64-linux-gnu" --list "$rootfs$obj" 2>&1) \
            || die "ld.so --list $obj failed: $out"
        if grep -q 'not found' <<<"$out"; then
            die "$obj needs libraries no package in NJS_LIB_PACKAGES provides:$(printf '\n'; grep 'not found' <<<"$out")"
        fi
    done
}

build_nginx_njs() {
    local ref="$NGINX_REPO:$NJS_TAG" conf_dir="$IMAGES_DIR/nginx-njs"
    local hash
    hash=$(input_hash "nginx-njs $NJS_SUITE nginx=$NJS_NGINX_VERSION njs=$NJS_MODULE_VERSION ${NJS_LIB_PACKAGES[*]}" \
        "${BASH_SOURCE[0]}" "$conf_dir/nginx.conf" "$IMAGES_DIR/nginx/default.conf" "${COMMON_FILES[@]}")
    stale "$hash" "$ref" "$ref" || return 0
    command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null \
        || die "apt-get and dpkg-deb are needed to build $ref (a Debian host)"
    log "building $ref (input hash $hash)"
    local old deb
    old=$(image_ids "$ref")
    njs_debs
    local rootfs="$WORK/nginx-njs-rootfs"
    mkdir -p "$rootfs"
    for deb in "$NJS_DEBS"/*.deb; do
        dpkg-deb -x "$deb" "$rootfs"
    done
    # Merged /usr (as in Debian since 12): the binaries ask for /lib64/ld-linux-x86-64.so.2.
    ln -s usr/lib "$rootfs/lib"
    ln -s usr/lib64 "$rootfs/lib64"
    njs_check_libs "$rootfs"
    # Keep what nginx reads; drop init scripts, systemd units, docs and Debian's site layout
    # (this image serves conf.d/*.conf like bluegreen-test/nginx:1).
    rm -rf "$rootfs"/etc/{init.d,ufw,default,logrotate.d,ld.so.conf.d} "$rootfs/usr/lib/systemd" \
        "$rootfs"/usr/share/{doc,man,lintian,vim,apport,bug,info,locale} \
        "$rootfs"/etc/nginx/{sites-available,sites-enabled,modules-available,modules-enabled,snippets}
    add_busybox "$rootfs"
    install -m 0644 "$conf_dir/nginx.conf" "$rootfs/etc/nginx/nginx.conf"
    install -D -m 0644 "$IMAGES_DIR/nginx/default.conf" "$rootfs/etc/nginx/conf.d/default.conf"
    mkdir -p "$rootfs/var/log/nginx" "$rootfs/run" "$rootfs/var/www"
    local d
    for d in body proxy fastcgi scgi uwsgi; do mkdir -p "$rootfs/var/lib/nginx/$d"; done
    # What went in, for whoever debugs the image later.
    mkdir -p "$rootfs/usr/share/bluegreen"
    ( cd "$NJS_DEBS" && ls -- *.deb ) > "$rootfs/usr/share/bluegreen/debs.txt"
    pack "$rootfs" > "$WORK/nginx-njs.tar"

    # Import untagged, prove it starts and loads njs, then tag: a broken build never
    # replaces a working image.
    local id out
    id=$(docker import \
        --change 'ENTRYPOINT ["/usr/sbin/nginx"]' \
        --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'EXPOSE 80' \
        --change "LABEL $LABEL=$hash" \
        "$WORK/nginx-njs.tar")
    out=$(docker run --rm --network none --entrypoint /bin/sh "$id" -c \
        'nginx -V 2>&1 | head -1 && nginx -t 2>&1' 2>&1) \
        || { docker image rm "$id" >/dev/null 2>&1 || true; die "the new $ref does not pass nginx -t:$(printf '\n')$out"; }
    grep -q "nginx/${NJS_NGINX_VERSION%-*}" <<<"$out" \
        || { docker image rm "$id" >/dev/null 2>&1 || true; die "the new $ref is not nginx ${NJS_NGINX_VERSION%-*}: $out"; }
    docker tag "$id" "$ref"
    log "built $ref (nginx ${NJS_NGINX_VERSION%-*}, njs module $NJS_MODULE_VERSION)"
    drop_replaced $old
}
