#!/usr/bin/env bash
# CodeNarc, through npm-groovy-lint 16.2.0 (the last release for Node 20; it needs Java 17), on the library's
# pipeline code: vars/, the Jenkinsfile and the Rollback pipeline. Zero errors required; the rules and the reason
# for each one turned off are in .groovylintrc.json. The linter is installed into .cache/ on first use.
set -euo pipefail
cd "$(dirname "$0")/../.."

version=16.2.0
prefix=.cache/npm-groovy-lint
lint="$prefix/node_modules/.bin/npm-groovy-lint"

if [ -z "${JAVA_HOME:-}" ] || [ ! -x "${JAVA_HOME}/bin/java" ]; then
    export JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64
fi
export PATH="$JAVA_HOME/bin:$PATH"
for tool in java node npm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "lint.sh: $tool not found (npm-groovy-lint $version needs Java 17 and Node 20)" >&2
        exit 2
    fi
done

installed=$(node -p "require('./$prefix/node_modules/npm-groovy-lint/package.json').version" 2>/dev/null || true)
if [ "$installed" != "$version" ]; then
    echo "lint.sh: installing npm-groovy-lint $version into $prefix"
    npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "npm-groovy-lint@$version"
fi

# --noserver: otherwise npm-groovy-lint leaves a CodeNarc daemon running.
exec "$lint" --noserver --failon error --config . \
    vars Jenkinsfile resources/bluegreen/Rollback.Jenkinsfile
