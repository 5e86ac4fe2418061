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

// The library resource holding the CLI (a zipapp made by `make bundle`) and where it lands on the agent.
@Field static final String CLI_RESOURCE = 'bluegreen/bluegreen.pyz'
@Field static final String CLI_FILE = 'bluegreen.pyz'

// What withCredentials says when a credential id does not exist (credentials-binding's CredentialNotFoundException).
@Field static final String CREDENTIAL_NOT_FOUND = 'Could not find credentials entry with ID'

// One constant script per command. The command is chosen here; every value reaches the CLI through the
// environment, so nothing secret or user-controlled is ever part of a script string. `-I` keeps the agent's
// PYTHONPATH and user site-packages away from the bundle. The stale report of an earlier build goes first, so a
// CLI that dies before writing one can't be mistaken for it.
@Field static final Map<String, String> COMMAND_SCRIPTS = [
    deploy: 'rm -f "$BLUEGREEN_REPORT"; python3 -I "$BLUEGREEN_CLI" deploy',
    rollback: 'rm -f "$BLUEGREEN_REPORT"; python3 -I "$BLUEGREEN_CLI" rollback',
    // manual promotion: start and health-gate the idle color, switch to it later, or remove it
    stage: 'rm -f "$BLUEGREEN_REPORT"; python3 -I "$BLUEGREEN_CLI" deploy --stage',
    promote: 'rm -f "$BLUEGREEN_REPORT"; python3 -I "$BLUEGREEN_CLI" promote',
    abort: 'rm -f "$BLUEGREEN_REPORT"; python3 -I "$BLUEGREEN_CLI" abort',
]
@Field static final String CREDENTIALS_SCRIPT = 'python3 -I "$BLUEGREEN_CLI" credentials'

// The commands run with the service's credentials bound: deploy and stage start a container with them, rollback
// runs with them as it always has. promote and abort only switch to or remove a color that already runs, so
// nothing secret is in their reach.
@Field static final List<String> COMMANDS_WITH_CREDENTIALS = ['deploy', 'rollback', 'stage']

/**
 * Runs `bluegreen <command>` for one service and returns the CLI's report as a Map.
 * args.step: the calling step's name, for messages; args.command: a key of COMMAND_SCRIPTS;
 * args.cli: CLI options by Groovy key (service, config, lang, image, monitor, reason);
 * args.report: report file name or null; args.useLock: use Lockable Resources' lock when installed.
 */
Map call(Map args) {
    if (!COMMAND_SCRIPTS.containsKey(args.command)) {
        error("${args.step ?: 'blueGreenCli'}: unknown bluegreen command '${args.command}'")
    }
    return call(args) { Closure run -> run(command: args.command, report: args.report) }
}

/**
 * The frame for several commands of one service: the CLI delivered once, its credentials looked up once, the lock
 * held across the whole operation. `operation` gets `run`, which runs one command and returns its report (or fails
 * the build with the CLI's reason): run(command: 'promote', cli: [monitor: '60s'], report: null).
 * args: step, cli (the options every command gets), report (checked here, before anything runs), useLock.
 * Returns what `operation` returns.
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

    String tmp = pwd(tmp: true)
    String cliPath = "${tmp}/${CLI_FILE}"
    writeFile(file: cliPath, text: libraryResource(resource: CLI_RESOURCE, encoding: 'Base64'), encoding: 'Base64')

    Map result = null
    withEnv(cliEnvironment(cli) + ["BLUEGREEN_CLI=${cliPath}".toString()]) {
        Map frame = [step: step, service: service, tmp: tmp, bindings: credentialBindings(step)]
        serialized(service, args.useLock != false) {
            result = operation { Map command -> runCommand(frame, command) }
        }
    }
    return result
}

// One command inside the frame: its own options and report file in the environment, its constant script, its report.
Map runCommand(Map frame, Map command) {
    String name = command.command
    String reportName = command.report ?: "bluegreen-${name}-${frame.service}.json"
    if (!COMMAND_SCRIPTS.containsKey(name)) {
        error("${frame.step}: unknown bluegreen command '${name}'")
    }
    List<String> environment = cliEnvironment(command.cli ?: [:]) + [
        "BLUEGREEN_REPORT=${frame.tmp}/${reportName}".toString(),
    ]
    int status = 0
    withEnv(environment) {
        if (name in COMMANDS_WITH_CREDENTIALS) {
            withCredentials(frame.bindings) {
                status = sh(returnStatus: true, script: COMMAND_SCRIPTS[name])
            }
        } else {
            status = sh(returnStatus: true, script: COMMAND_SCRIPTS[name])
        }
    }
    return reportResult(frame.tmp, reportName, status, "bluegreen ${name} ${frame.service}")
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

// The credential bindings come from bluegreen.yml through `bluegreen credentials`: the mapping lives once.
// An optional binding whose credential does not exist in Jenkins is left out (its variables stay unset);
// any other problem with a credential fails the build.
List credentialBindings(String step) {
    Map answer = readJSON(text: sh(returnStdout: true, script: CREDENTIALS_SCRIPT), returnPojo: true)
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
