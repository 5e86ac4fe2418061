#!/bin/sh
# The docker runner: runs the bundled bluegreen CLI in a throwaway container of $BLUEGREEN_RUNNER_IMAGE (any image
# with python3 >= 3.10) for agents that have Docker but no python3 — the official jenkins/jenkins image, say.
# blueGreenCli writes this file next to the CLI and runs `sh "$BLUEGREEN_RUNNER_SCRIPT" deploy` (or rollback,
# `deploy --stage`, promote, abort, credentials), every value in the environment; tests/test_docker_runner.py runs
# this same file against the real engine.
#
# What the container gets, and why:
# - the Docker socket: the CLI drives the engine as it would from the agent;
# - the host's network (--network host): the health gate probes the colors' addresses on their Docker networks from
#   the host; from a container on another bridge, Docker's isolation rules would drop those packets;
# - the host's PID namespace (--pid host): the rollback's quick path sees nginx's master in /proc
#   (python/bluegreen/parts/host_nginx.py), as from the agent;
# - the paths the agent uses, at the same paths: the workspace (bluegreen.yml, hooks; the working directory), the
#   build's temp dir (the CLI, the report), bluegreen.yml's directory, and the state_dir (BLUEGREEN_RUNNER_STATE_DIR,
#   from `bluegreen credentials`). An agent that itself runs in a container lends its volumes with --volumes-from,
#   as docker-workflow's withDockerContainer does (WithContainerStep.Execution.start,
#   DockerClient.getContainerIdIfContainerized): its workspace may live in a volume the host knows by no path. A
#   directory none of its volumes holds is bound from the host at the same path. The CLI refuses to run when its
#   state_dir is still on the container's own filesystem (BLUEGREEN_RUNNER=docker; python/bluegreen/parts/mounts.py);
# - the build's environment by name only (`-e NAME`: the docker CLI reads the value from its own environment, so a
#   secret is never in any process's argv, nor in this script), less what describes the agent itself (PATH, HOME,
#   its user and shell, the dynamic loader's and Python's variables, the docker CLI's own, the agent's secret);
# - root, the image's user: it reads /proc of nginx's master and writes the state_dir as on the host (the report it
#   writes is 0644, readable by the agent; nothing else lands in the workspace).
# The container is removed when the CLI exits (--rm); its exit code is the CLI's.
set -eu

case "$*" in
    deploy | rollback | "deploy --stage" | promote | abort | credentials) ;;
    *) echo "docker-runner.sh: unknown bluegreen command '$*'" >&2; exit 2 ;;
esac
: "${BLUEGREEN_RUNNER_IMAGE:?docker-runner.sh: BLUEGREEN_RUNNER_IMAGE (an image with python3 >= 3.10) is not set}"
: "${BLUEGREEN_CLI:?docker-runner.sh: BLUEGREEN_CLI is not set}"
command_line="$*"

# Lists of paths below are one per line: a workspace path may hold spaces.
nl='
'
set -f  # no globbing when a list is split on newlines

# The agent's own container, when it runs in one: the id in the path of the /etc/hostname Docker mounts into every
# container (cgroup v1 and v2 alike), checked with the engine (an id it does not know is someone else's container).
self=$(sed -n 's|^.*/containers/\([0-9a-f]\{64\}\)/hostname .*$|\1|p' /proc/self/mountinfo 2>/dev/null | head -n 1)
held=""
if [ -n "$self" ] && held=$(docker inspect --format '{{range .Mounts}}{{println .Destination}}{{end}}' "$self" \
        2>/dev/null); then
    set -- --volumes-from "$self"
else
    set --
fi

# Each path at the same path, unless a volume the agent lends, or a directory already given, holds it.
config=${BLUEGREEN_CONFIG:-bluegreen.yml}
case "$config" in /*) ;; *) config="$PWD/$config" ;; esac
IFS=$nl
for path in $PWD$nl$(dirname "$BLUEGREEN_CLI")$nl$(dirname "$config")${BLUEGREEN_RUNNER_STATE_DIR:+$nl$BLUEGREEN_RUNNER_STATE_DIR}; do
    case "$path" in
        / | [!/]*) echo "docker-runner.sh: cannot share '$path' with the container: not an absolute directory" >&2
                   exit 2 ;;
    esac
    case "$path" in
        *:*) echo "docker-runner.sh: cannot share '$path' with the container: docker -v takes no ':' in a path" >&2
             exit 2 ;;
    esac
    covered=""
    for holder in $held; do
        case "$holder" in /?*) ;; *) continue ;; esac
        case "$path/" in "${holder%/}"/*) covered=yes ;; esac
    done
    if [ -z "$covered" ]; then
        set -- "$@" -v "$path:$path"
        held="$held$nl$path"
    fi
done
unset IFS

# The build's environment, names only, less the agent's own.
for name in $(awk 'BEGIN { for (name in ENVIRON) print name }' | grep -E '^[A-Za-z_][A-Za-z0-9_]*$' \
        | grep -v -E '^(PATH|HOME|PWD|OLDPWD|SHLVL|HOSTNAME|USER|LOGNAME|SHELL|TERM|TMPDIR|MAIL|IFS|_|LD_.*|PYTHON.*|DOCKER_.*|XDG_.*|JENKINS_SECRET|JENKINS_AGENT_.*|BLUEGREEN_CACHE_DIR|BLUEGREEN_RUNNER.*)$' \
        | sort); do
    set -- "$@" -e "$name"
done

status=0
# shellcheck disable=SC2086 # $command_line is one of the constant command lines checked above
docker run --rm --label bluegreen.runner=docker --network host --pid host \
    -v /var/run/docker.sock:/var/run/docker.sock -w "$PWD" -e BLUEGREEN_RUNNER=docker "$@" \
    --entrypoint python3 "$BLUEGREEN_RUNNER_IMAGE" -I "$BLUEGREEN_CLI" $command_line || status=$?
case $status in
    125) echo "docker-runner.sh: docker could not start a container of $BLUEGREEN_RUNNER_IMAGE (see above)" >&2 ;;
    126 | 127) echo "docker-runner.sh: $BLUEGREEN_RUNNER_IMAGE has no runnable python3 on its PATH" >&2 ;;
esac
exit "$status"
