#!/usr/bin/env bash
# Runs the Groovy pipeline tests on Debian's groovy 2.4 (the Groovy Jenkins embeds) with Java 17.
# Ends with `groovy: N passed, N failed`; exits non-zero on any failure. Arguments filter tests by name.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ -z "${JAVA_HOME:-}" ] || [ ! -x "${JAVA_HOME}/bin/java" ]; then
    export JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64
fi
if ! command -v groovy >/dev/null 2>&1; then
    echo "run-tests.sh: groovy not found; install Debian's groovy package (apt-get install groovy)" >&2
    exit 2
fi
exec groovy -Dbluegreen.repo="$PWD" -cp tests/groovy tests/groovy/RunTests.groovy "$@"
