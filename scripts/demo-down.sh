#!/usr/bin/env bash
# `make demo-down`: remove everything `make demo` created (containers, network, state).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
docker rm -f bluegreen-demo-nginx demo-back-blue demo-back-green demo-back-blue-replaced demo-back-green-replaced \
    >/dev/null 2>&1
docker network rm bluegreen-demo >/dev/null 2>&1
rm -rf .demo /run/bluegreen-demo
echo "demo removed"
