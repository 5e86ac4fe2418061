/*
 * blueGreenCli: the one place where the library runs the bundled `bluegreen` CLI for a service.
 * blueGreenDeploy, blueGreenRollback and blueGreenPromotion are its only callers; blueGreenCli.txt says why it is a
 * step of its own.
 *
 * Groovy stays thin: this step delivers the CLI, binds the credentials the CLI names, serializes per service,
 * runs commands with every value in the environment and reports. Colors, nginx and health checks are the
 * CLI's business, never decided here.
 */
import groovy.transform.Field

// What bluegreen.yml accepts as a service name; it also keeps the lock and report names safe.
@Field static final String SERVICE_PATTERN = /^[a-z0-9][a-z0-9_-]{0,40}$/

// A report is a plain file name inside the build's temp dir: no directories, no '..'.
@Field static final String REPORT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$/

// The library resources: the CLI (a zipapp made by `make bundle`) and the docker runner, and where they land.
@Field static final String CLI_RESOURCE = 'bluegreen/bluegreen.pyz'
@Field static final String CLI_FILE = 'bluegreen.pyz'
@Field static final String RUNNER_RESOURCE = 'bluegreen/docker-runner.sh'
@Field static final String RUNNER_FILE = 'bluegreen-docker-runner.sh'

// What withCredentials says when a credential id does not exist (credentials-binding's CredentialNotFoundException).
@Field static final String CREDENTIAL_NOT_FOUND = 'Could not find credentials entry with ID'

// How the CLI starts, by runner: 'host' with the agent's own python3 (`-I` keeps the agent's PYTHONPATH and user
// site-packages away from the bundle); 'docker' through docker-runner.sh, which runs the same command in a throwaway
// container of the runner image (for agents without python3: the official jenkins/jenkins image).
@Field static final Map<String, String> RUNNERS = [
    host: 'python3 -I "$BLUEGREEN_CLI"',
    docker: 'sh "$BLUEGREEN_RUNNER_SCRIPT"',
]

// The CLI's command line for each command (stage, promote and abort make the manual promotion).
@Field static final Map<String, String> COMMANDS = [
    deploy: 'deploy',
    rollback: 'rollback',
    stage: 'deploy --stage',
    promote: 'promote',
    abort: 'abort',
]

// The commands run with the service's credentials bound: deploy and stage start a container with them, rollback
// runs with them as it always has. promote and abort only switch to or remove a color that already runs, so
// nothing secret is in their reach.
@Field static final List<String> COMMANDS_WITH_CREDENTIALS = ['deploy', 'rollback', 'stage']

/**
 * Runs `bluegreen <command>` for one service and returns the CLI's report as a Map.
 * args.step: the calling step's name, for messages; args.command: a key of COMMANDS;
 * args.cli: CLI options by Groovy key (service, config, lang, image, monitor, reason);
 * args.report: report file name or null; args.useLock: use Lockable Resources' lock when installed;
 * args.label: run on a node of this label, taken here (null = where the step is called);
 * args.runner, args.runnerImage: 'host' or 'docker' and its image (null = BLUEGREEN_RUNNER[_IMAGE] on the agent).
 */
Map call(Map args) {
    if (!COMMANDS.containsKey(args.command)) {
        error("${args.step ?: 'blueGreenCli'}: unknown bluegreen command '${args.command}'")
    }
    return call(args) { Closure run -> run(command: args.command, report: args.report) }
}

/**
 * The frame for several commands of one service: its credentials looked up once, the lock held across the whole
 * operation. `operation` gets `run`, which runs one command and returns its report (or fails the build with the
 * CLI's reason): run(command: 'promote', cli: [monitor: '60s'], report: null). Without a label every command runs
 * where the step was called, the CLI delivered once; with one, each command takes a node of that label for its
 * own run (the CLI delivered there), so none is held between commands.
 * args: step, cli (the options every command gets), report (checked here, before anything runs), useLock, label,
 * runner, runnerImage. Returns what `operation` returns.
 */
Map call(Map args, Closure operation) {
    String step = args.step ?: 'blueGreenCli'
    Map cli = args.cli ?: [:]
    String service = cli.service

    if (!service) {
        error("${step}: no service given; name one from bluegreen.yml, e.g. ${step}('backend')")
    }
    if (!(service ==~ SERVICE_PATTERN)) {
        error("${step}: '${service}' is not a service name (lowercase letters, digits, '-' and '_'; at most 41)")
    }
    if (args.report != null && !(args.report ==~ REPORT_PATTERN)) {
        error("${step}: report '${args.report}' must be a plain file name such as bluegreen-${service}.json")
    }
    checkAgentOptions(step, args)
    if (!args.label && !env.NODE_NAME) {
        error("${step}: no agent to run on: call it inside a node (a stage with an agent), or give " +
            "label: 'docker-host' to let it take a node of that label for each command")
    }

    Map frame = [step: step, service: service, cli: cli, label: args.label, runner: args.runner,
                 runnerImage: args.runnerImage, bindings: null, stateDir: null]
    Map result = null
    if (frame.label) {
        serialized(service, args.useLock != false) {
            result = operation { Map command -> onNode(frame) { Map agent -> runCommand(frame, agent, command) } }
        }
    } else {
        withCli(frame) { Map agent ->
            serialized(service, args.useLock != false) {
                result = operation { Map command -> runCommand(frame, agent, command) }
            }
        }
    }
    return result
}

// label, runner and runnerImage as given (the runner may also come from the agent, checked there: runnerOf).
void checkAgentOptions(String step, Map args) {
    if (args.label != null && !(args.label instanceof CharSequence && args.label.toString().trim() &&
            !args.label.toString().contains('\n'))) {
        error("${step}: label '${args.label}' is not a Jenkins label expression such as 'docker-host'")
    }
    if (args.runner != null && !RUNNERS.containsKey(args.runner)) {
        error("${step}: runner must be 'host' (the agent's python3) or 'docker' (a container of runnerImage), " +
            "not '${args.runner}'")
    }
    if (args.runnerImage != null && !(args.runnerImage instanceof CharSequence && args.runnerImage.toString().trim())) {
        error("${step}: runnerImage '${args.runnerImage}' names no image")
    }
    if (args.runnerImage != null && args.runner == 'host') {
        error("${step}: runnerImage applies to runner: 'docker' only")
    }
}

// One command's run on a node of the frame's label: the node is taken for this command alone.
Object onNode(Map frame, Closure body) {
    Object value = null
    node(frame.label) {
        value = withCli(frame, body)
    }
    return value
}

// The CLI (and the docker runner) written into the build's temp dir on this agent, and the environment every
// command gets there; body gets [tmp:, runner:].
Object withCli(Map frame, Closure body) {
    Map runner = runnerOf(frame)
    String tmp = pwd(tmp: true)
    String cliPath = "${tmp}/${CLI_FILE}"
    writeFile(file: cliPath, text: libraryResource(resource: CLI_RESOURCE, encoding: 'Base64'), encoding: 'Base64')
    List<String> environment = cliEnvironment(frame.cli) + [
        "BLUEGREEN_CLI=${cliPath}".toString(),
        "BLUEGREEN_RUNNER=${runner.name}".toString(),
    ]
    if (runner.name == 'docker') {
        String script = "${tmp}/${RUNNER_FILE}"
        writeFile(file: script, text: libraryResource(resource: RUNNER_RESOURCE, encoding: 'UTF-8'), encoding: 'UTF-8')
        environment += ["BLUEGREEN_RUNNER_SCRIPT=${script}".toString(),
                        "BLUEGREEN_RUNNER_IMAGE=${runner.image}".toString()]
    }
    Object value = null
    withEnv(environment) {
        value = body([tmp: tmp, runner: runner.name])
    }
    return value
}

// The runner on this agent: the step's option, else BLUEGREEN_RUNNER / BLUEGREEN_RUNNER_IMAGE set on the node
// (Manage Nodes → the node → Environment variables), else the agent's own python3.
Map runnerOf(Map frame) {
    String name = frame.runner ?: env.BLUEGREEN_RUNNER ?: 'host'
    if (!RUNNERS.containsKey(name)) {
        error("${frame.step}: BLUEGREEN_RUNNER on ${env.NODE_NAME} must be 'host' or 'docker', not '${name}'")
    }
    if (name == 'host' && frame.runnerImage) {
        error("${frame.step}: runnerImage applies to runner: 'docker' only, and ${env.NODE_NAME} runs the CLI with " +
            'its own python3')
    }
    String image = name == 'docker' ? (frame.runnerImage ?: env.BLUEGREEN_RUNNER_IMAGE) : null
    if (name == 'docker' && !image) {
        error("${frame.step}: runner 'docker' needs an image with python3 >= 3.10: runnerImage, or " +
            'BLUEGREEN_RUNNER_IMAGE on the agent')
    }
    return [name: name, image: image]
}

// One command: its own options and report file in the environment, its constant script, its report.
Map runCommand(Map frame, Map agent, Map command) {
    String name = command.command
    String reportName = command.report ?: "bluegreen-${name}-${frame.service}.json"
    if (!COMMANDS.containsKey(name)) {
        error("${frame.step}: unknown bluegreen command '${name}'")
    }
    if (frame.bindings == null) {
        lookUp(frame, agent)
    }
    List<String> environment = cliEnvironment(command.cli ?: [:]) + [
        "BLUEGREEN_REPORT=${agent.tmp}/${reportName}".toString(),
    ]
    if (agent.runner == 'docker' && frame.stateDir) {
        environment << "BLUEGREEN_RUNNER_STATE_DIR=${frame.stateDir}".toString()
    }
    String script = commandScript(agent.runner, name)
    int status = 0
    withEnv(environment) {
        if (name in COMMANDS_WITH_CREDENTIALS) {
            withCredentials(frame.bindings) {
                status = sh(returnStatus: true, script: script)
            }
        } else {
            status = sh(returnStatus: true, script: script)
        }
    }
    return reportResult(agent.tmp, reportName, status, "bluegreen ${name} ${frame.service}")
}

// One constant script per command and runner: every value reaches the CLI through the environment, so nothing
// secret or user-controlled is ever part of a script string. The stale report of an earlier build goes first, so a
// CLI that dies before writing one can't be mistaken for it.
@NonCPS
static String commandScript(String runner, String command) {
    return 'rm -f "$BLUEGREEN_REPORT"; ' + RUNNERS[runner] + ' ' + COMMANDS[command]
}

@NonCPS
static String credentialsScript(String runner) {
    return RUNNERS[runner] + ' credentials'
}

// Groovy key → BLUEGREEN_<KEY> (healthPath → BLUEGREEN_HEALTH_PATH): the names the CLI reads, no synonyms.
// An option left null or empty is not set, so the CLI applies its own default.
@NonCPS
static List<String> cliEnvironment(Map cli) {
    List<String> environment = []
    cli.each { key, value ->
        if (value != null && value.toString() != '') {
            environment << "${envName(key.toString())}=${value}".toString()
        }
    }
    return environment
}

@NonCPS
static String envName(String key) {
    return 'BLUEGREEN_' + key.replaceAll(/([A-Z])/, '_$1').toUpperCase()
}

// What the frame needs from bluegreen.yml, through `bluegreen credentials` (the mapping lives once, in the CLI):
// the credential bindings and the state_dir (the docker runner mounts it).
void lookUp(Map frame, Map agent) {
    Map answer = readJSON(text: sh(returnStdout: true, script: credentialsScript(agent.runner)), returnPojo: true)
    frame.bindings = credentialBindings(frame.step, answer)
    frame.stateDir = textOf(answer.state_dir)
}

// An optional binding whose credential does not exist in Jenkins is left out (its variables stay unset);
// any other problem with a credential fails the build.
List credentialBindings(String step, Map answer) {
    List bindings = []
    for (Map wanted in (answer.bindings ?: [])) {
        Object binding = jenkinsBinding(step, wanted)
        if (wanted.optional == true && !credentialExists(binding)) {
            echo("${step}: optional credential '${wanted.credentialsId}' does not exist in Jenkins; " +
                "${variablesOf(wanted).join(', ')} stay unset")
            continue
        }
        bindings << binding
    }
    return bindings
}

Object jenkinsBinding(String step, Map wanted) {
    switch (wanted.type) {
        case 'string':
            return string(credentialsId: wanted.credentialsId, variable: wanted.variable)
        case 'usernamePassword':
            return usernamePassword(credentialsId: wanted.credentialsId,
                usernameVariable: wanted.usernameVariable, passwordVariable: wanted.passwordVariable)
        default:
            error("${step}: bluegreen asked for a '${wanted.type}' credential binding, which this library cannot bind")
    }
    return null
}

@NonCPS
static List<String> variablesOf(Map wanted) {
    List<String> names = [wanted.variable, wanted.usernameVariable, wanted.passwordVariable]
    return names.findAll { String name -> name }
}

// Probes one credential by binding it around an empty body: nothing runs while the secret is bound.
boolean credentialExists(Object binding) {
    try {
        withCredentials([binding]) {
            // nothing to do: binding it is the probe
        }
        return true
    } catch (IOException notBound) {
        if (notBound.message?.contains(CREDENTIAL_NOT_FOUND)) {
            return false
        }
        throw notBound
    }
}

// Deploys and rollbacks of one service never overlap: Lockable Resources' lock('bluegreen-<service>') when the
// plugin is installed (queued builds wait in Jenkins, visibly), and always the CLI's own lock on the host.
// Without the plugin, calling `lock` throws NoSuchMethodError before the body runs; one thrown from inside the
// body is someone else's and is passed on.
void serialized(String service, boolean useLock, Closure body) {
    if (!useLock) {
        body()
        return
    }
    boolean entered = false
    try {
        lock(resource: "bluegreen-${service}") {
            entered = true
            body()
        }
    } catch (NoSuchMethodError lockMissing) {
        if (entered) {
            throw lockMissing
        }
        echo('bluegreen: the Lockable Resources plugin is not installed; only the CLI\'s own lock serializes ' +
            "deploys of ${service}")
        body()
    }
}

// Reads and archives the CLI's JSON report, describes the build with it, and fails the build with the
// CLI's own reason when the command failed (the CLI has already rolled back what it changed).
Map reportResult(String tmp, String reportName, int status, String what) {
    Map report = null
    dir(tmp) {
        if (fileExists(reportName)) {
            report = readJSON(text: readFile(file: reportName, encoding: 'UTF-8'), returnPojo: true)
            archiveArtifacts(artifacts: reportName)
        }
    }
    String description = textOf(report?.description)
    if (description) {
        currentBuild.description = description
    }
    if (status != 0) {
        String reason = textOf(report?.reason)
        error(reason ?: "${what} failed with exit code ${status} and wrote no report; see the log above")
    }
    if (report == null) {
        echo("${what} succeeded but wrote no report")
        return [:]
    }
    return report
}

// A report field as text, or null when the CLI left it out, null or blank.
@NonCPS
static String textOf(Object value) {
    String text = value == null ? '' : value.toString().trim()
    return text ?: null
}
