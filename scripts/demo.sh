#!/usr/bin/env bash
# `make demo`: nginx + a demo app on a Docker network, then the guide's story: deploy v1, deploy v2, status,
# roll back, status. Leaves the stack running; `make demo-down` removes it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export BLUEGREEN_CONFIG="$PWD/examples/demo/bluegreen.yml"
export BLUEGREEN_LANG="${BLUEGREEN_LANG:-ko}"
export DATABASE_URL="demo-database-url-not-a-real-secret"
BG=(.venv/bin/bluegreen)
NET=bluegreen-demo
NGINX=bluegreen-demo-nginx
PORT=8080
ADMIN=/run/bluegreen-demo   # switch: shared-dict: nginx's admin socket appears here (mode 0700: only root gets in)

say() { printf '\n\033[1m▶ %s\033[0m\n' "$*"; }

if docker container inspect "$NGINX" >/dev/null 2>&1; then
    say "An earlier demo is still running: removing it first (make demo-down)"
    bash scripts/demo-down.sh
fi

say "Network $NET and nginx 1.30 with njs ($NGINX, only it publishes a port: 127.0.0.1:$PORT)"
docker network create "$NET" >/dev/null
install -d -m 0700 "$ADMIN"
# --restart always: nginx comes back with the engine after a reboot, whatever was sent to it through Docker
# (README, Reboot); the apps get `restart: unless-stopped` from bluegreen.yml.
docker run -d --name "$NGINX" --restart always --network "$NET" -p "127.0.0.1:$PORT:80" -v "$ADMIN:$ADMIN" \
    bluegreen-test/nginx:1.30 >/dev/null
# switch: shared-dict. The site proxies to the variable $demo_backend, which bluegreen's file defines (a map over
# the color in nginx's shared dictionary); before the first deploy a placeholder defines it.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'map $host $demo_backend { default demo_backend; }\nupstream demo_backend { server 127.0.0.1:9 down; }\n' \
    > "$tmp/demo_backend.upstream.conf"
printf 'server {\n    listen 80 default_server;\n    location / { proxy_pass http://$demo_backend; }\n}\n' > "$tmp/default.conf"
docker cp "$tmp/demo_backend.upstream.conf" "$NGINX:/etc/nginx/conf.d/demo_backend.upstream.conf"
docker cp "$tmp/default.conf" "$NGINX:/etc/nginx/conf.d/default.conf"
deadline=$((SECONDS + 20))
until docker exec "$NGINX" nginx -t >/dev/null 2>&1 && docker exec "$NGINX" nginx -s reload >/dev/null 2>&1; do
    (( SECONDS < deadline )) || { echo "nginx did not start within 20 s" >&2; exit 1; }
    sleep 0.2  # poll: nginx is starting
done

say "bluegreen deploy backend   (v1: the first deploy)"
APP_TAG=v1 "${BG[@]}" deploy backend
say "bluegreen deploy backend   (v2)"
APP_TAG=v2 "${BG[@]}" deploy backend
say "bluegreen status backend"
"${BG[@]}" status backend
say "curl http://127.0.0.1:$PORT/"
curl -s "http://127.0.0.1:$PORT/"
say "bluegreen rollback backend   (no reload: one request on nginx's admin socket)"
"${BG[@]}" rollback backend --reason "demo"
say "bluegreen status backend"
"${BG[@]}" status backend
say "curl http://127.0.0.1:$PORT/"
curl -s "http://127.0.0.1:$PORT/"
say "bluegreen history backend"
"${BG[@]}" history backend

cat <<MSG

The demo stack is still running:
  curl http://127.0.0.1:$PORT/                      # served by the active color
  export BLUEGREEN_CONFIG=$BLUEGREEN_CONFIG DATABASE_URL=x
  APP_TAG=v3 .venv/bin/bluegreen deploy backend     # deploy v3 into the idle color
  .venv/bin/bluegreen rollback backend              # traffic back in ~0.2 s (the quick path)
  .venv/bin/bluegreen status backend
Remove it with: make demo-down
MSG
