#!/bin/sh
# post_gate hook (examples/maice/bluegreen.yml): the staged or new color, through its preview entry, before any
# user reaches it. bluegreen sets BLUEGREEN_PREVIEW_URL, _SERVICE, _TO, _IMAGE; a non-zero exit stops the deploy.
set -eu
curl -fsS --max-time 5 "$BLUEGREEN_PREVIEW_URL/health" >/dev/null
curl -fsS --max-time 5 "$BLUEGREEN_PREVIEW_URL/" >/dev/null
echo "smoke test of $BLUEGREEN_TO ($BLUEGREEN_IMAGE) passed"
