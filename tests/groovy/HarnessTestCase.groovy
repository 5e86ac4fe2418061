import groovy.json.JsonOutput

/**
 * Base of the pipeline tests: a fresh PipelineHarness per test, a stand-in for the bundled CLI that answers
 * like CONTRACT.md says, and the checks every test can make on what reached `sh`.
 */
abstract class HarnessTestCase extends GroovyTestCase {
    static final File REPO = new File(System.getProperty('bluegreen.repo') ?: '.').canonicalFile

    /** Stands for resources/bluegreen/bluegreen.pyz until `make bundle` has made it; never written to the repo. */
    static final byte[] PLACEHOLDER_BUNDLE = 'PK placeholder for bluegreen.pyz (tests only)\u0000\u00ff'.getBytes('ISO-8859-1')

    static final String DEPLOY_SCRIPT = 'rm -f "$BLUEGREEN_REPORT"; python3 -I "$BLUEGREEN_CLI" deploy'
    static final String ROLLBACK_SCRIPT = 'rm -f "$BLUEGREEN_REPORT"; python3 -I "$BLUEGREEN_CLI" rollback'
    static final String CREDENTIALS_SCRIPT = 'python3 -I "$BLUEGREEN_CLI" credentials'
    static final String STAGE_SCRIPT = 'rm -f "$BLUEGREEN_REPORT"; python3 -I "$BLUEGREEN_CLI" deploy --stage'
    static final String PROMOTE_SCRIPT = 'rm -f "$BLUEGREEN_REPORT"; python3 -I "$BLUEGREEN_CLI" promote'
    static final String ABORT_SCRIPT = 'rm -f "$BLUEGREEN_REPORT"; python3 -I "$BLUEGREEN_CLI" abort'
    /** the same commands through the docker runner (runner: 'docker') */
    static final String DOCKER_RUN = 'sh "$BLUEGREEN_RUNNER_SCRIPT"'
    static final String DOCKER_CREDENTIALS_SCRIPT = DOCKER_RUN + ' credentials'
    static final String DOCKER_DEPLOY_SCRIPT = 'rm -f "$BLUEGREEN_REPORT"; ' + DOCKER_RUN + ' deploy'
    static final String DOCKER_ROLLBACK_SCRIPT = 'rm -f "$BLUEGREEN_REPORT"; ' + DOCKER_RUN + ' rollback'
    static final String DOCKER_STAGE_SCRIPT = 'rm -f "$BLUEGREEN_REPORT"; ' + DOCKER_RUN + ' deploy --stage'
    static final String DOCKER_PROMOTE_SCRIPT = 'rm -f "$BLUEGREEN_REPORT"; ' + DOCKER_RUN + ' promote'
    static final String DOCKER_ABORT_SCRIPT = 'rm -f "$BLUEGREEN_REPORT"; ' + DOCKER_RUN + ' abort'
    /** the commands that write a report, by their script line */
    static final Map<String, String> REPORTING_COMMANDS = [(DEPLOY_SCRIPT): 'deploy', (ROLLBACK_SCRIPT): 'rollback',
        (STAGE_SCRIPT): 'stage', (PROMOTE_SCRIPT): 'promote', (ABORT_SCRIPT): 'abort',
        (DOCKER_DEPLOY_SCRIPT): 'deploy', (DOCKER_ROLLBACK_SCRIPT): 'rollback', (DOCKER_STAGE_SCRIPT): 'stage',
        (DOCKER_PROMOTE_SCRIPT): 'promote', (DOCKER_ABORT_SCRIPT): 'abort']
    /** the state_dir `bluegreen credentials` names in these tests */
    static final String STATE_DIR = '/var/lib/bluegreen'
    static final String PREVIEW_URL = 'http://127.0.0.1:8081'

    /** The bindings `bluegreen credentials backend` gives for examples/maice/bluegreen.yml (abridged). */
    static final List<Map> MAICE_BINDINGS = [
        [type: 'string', credentialsId: 'maice-database-url', variable: 'DATABASE_URL', optional: false],
        [type: 'usernamePassword', credentialsId: 'maice-admin', usernameVariable: 'ADMIN_USERNAME',
         passwordVariable: 'ADMIN_PASSWORD', optional: false],
        [type: 'string', credentialsId: 'maice-redis-url', variable: 'REDIS_URL', optional: true],
    ]

    PipelineHarness harness
    /** what the fake CLI was run with: [command:, env:] */
    List<Map> cliRuns = []

    @Override
    void setUp() {
        super.setUp()
        harness = new PipelineHarness(REPO)
        harness.overlayResources(['bluegreen/bluegreen.pyz': PLACEHOLDER_BUNDLE])
        harness.addStringCredential('maice-database-url', 'postgresql://maice:db-s3cret@db/maice')
        harness.addUsernamePassword('maice-admin', 'admin-user', 'admin-pa55word')
    }

    @Override
    void tearDown() {
        harness?.cleanup()
        super.tearDown()
    }

    /** Starts over with a new harness, for tests that try several inputs. */
    void freshHarness() {
        tearDown()
        cliRuns = []
        setUp()
    }

    /**
     * Scripts the CLI, run by either runner. `credentials` prints the bindings and the state_dir; deploy, rollback,
     * stage (`deploy --stage`), promote and abort remove the stale report like the real script line does, then write
     * `report` (merged over the command's success report; null = write none) and exit with `status`. `status` and
     * `report` given under a command's name (fakeCli(promote: [status: 1, report: […]])) apply to that command only.
     * Each run is recorded with its script and whether it ran on an agent (env NODE_NAME).
     */
    void fakeCli(Map options = [:]) {
        List<Map> bindings = options.containsKey('bindings') ? (List<Map>) options.bindings : MAICE_BINDINGS
        Closure isCredentials = { String script, Map env -> script in [CREDENTIALS_SCRIPT, DOCKER_CREDENTIALS_SCRIPT] }
        harness.onSh(isCredentials) { String script, Map env ->
            cliRuns << [command: 'credentials', env: env, script: script]
            [stdout: JsonOutput.toJson([service: env.BLUEGREEN_SERVICE, bindings: bindings,
                                        state_dir: STATE_DIR]) + '\n']
        }
        Closure isCommand = { String script, Map env -> REPORTING_COMMANDS.containsKey(script) }
        harness.onSh(isCommand) { String script, Map env ->
            String command = REPORTING_COMMANDS[script]
            Map outcome = options.containsKey(command) ? (Map) options[command] : options
            cliRuns << [command: command, env: env, script: script]
            File report = new File(env.BLUEGREEN_REPORT)
            report.delete()
            if (!outcome.containsKey('report') || outcome.report != null) {
                Map written = successReport(command, env) + (Map) (outcome.report ?: [:])
                report.setText(JsonOutput.toJson(written), 'UTF-8')
            }
            return outcome.status ?: 0
        }
    }

    static Map successReport(String command, Map env) {
        if (command in ['stage', 'promote', 'abort']) {
            return promotionReport(command, env)
        }
        return [service: env.BLUEGREEN_SERVICE, action: command, result: 'success',
                from: command == 'deploy' ? 'blue' : 'green', to: command == 'deploy' ? 'green' : 'blue',
                image: env.BLUEGREEN_IMAGE ?: 'registry.example.com:5000/maice-back:42', build: '42',
                reason: command == 'deploy' ? 'green serves maice-back:42' : 'blue serves again',
                exit_code: 0,
                description: command == 'deploy' ? 'blue \u2192 green \u00b7 maice-back:42' : 'green \u2192 blue (rollback)',
                phases: [start_candidate: 1.2, wait_until_healthy: 3.4, switch_traffic: 0.3, verify: 0.1],
                started_at: '2026-11-26T21:00:00Z', duration: 5.0]
    }

    /** What CONTRACT.md's stage, promote and abort report when they succeed (blue serves, green is staged). */
    static Map promotionReport(String command, Map env) {
        Map common = [service: env.BLUEGREEN_SERVICE, from: 'blue', to: 'green',
                      image: env.BLUEGREEN_IMAGE ?: 'registry.example.com:5000/maice-back:42', build: '42', exit_code: 0,
                      started_at: '2026-11-26T21:00:00Z']
        switch (command) {
            case 'stage':
                return common + [action: 'deploy', result: 'staged', preview_url: PREVIEW_URL,
                                 reason: 'green runs maice-back:42, healthy; preview at ' + PREVIEW_URL,
                                 description: 'green staged \u00b7 maice-back:42',
                                 phases: [start_candidate: 1.2, wait_until_healthy: 3.4], duration: 4.6]
            case 'promote':
                return common + [action: 'promote', result: 'success', reason: 'green serves maice-back:42',
                                 description: 'blue \u2192 green \u00b7 maice-back:42',
                                 phases: [wait_until_healthy: 0.4, switch_traffic: 0.3, verify: 0.1], duration: 0.8]
            default:
                return common + [action: 'abort', result: 'aborted', reason: 'staged green removed; blue serves',
                                 description: 'green aborted \u00b7 maice-back:42', phases: [remove: 0.5], duration: 0.5]
        }
    }

    Map cliRun(String command) {
        List<Map> runs = cliRuns.findAll { it.command == command }
        assert runs.size() == 1: "expected one `${command}` run, got ${runs.size()}"
        return (Map) runs[0].env
    }

    void assertBuildSucceeded() {
        assert harness.failure == null
        assert harness.currentBuild.result == 'SUCCESS'
    }

    void assertBuildFailed(String message) {
        assert harness.currentBuild.result == 'FAILURE'
        assert harness.failure != null: 'the build failed without an exception'
        assert harness.failure.message == message
    }

    /** The build ended ABORTED, by the FlowInterruptedException of a rejected or expired input (or the Abort button). */
    void assertBuildAborted(Class cause) {
        assert harness.currentBuild.result == 'ABORTED'
        assert harness.failure instanceof org.jenkinsci.plugins.workflow.steps.FlowInterruptedException
        assert harness.failure.causesUnchecked*.getClass() == [cause]
    }

    void assertBuildFailedWith(String part) {
        assert harness.currentBuild.result == 'FAILURE'
        assert harness.failure?.message?.contains(part)
    }

    /** No `sh` script and no log line carries a bound secret or any of `userValues`; scripts are only these. */
    void assertScriptsCarryNoValues(Collection<String> allowedScripts, Collection<String> userValues = []) {
        List<String> scripts = harness.shScripts()
        assert scripts: 'no sh ran'
        scripts.each { String script ->
            assert script in allowedScripts
            (harness.boundSecrets + userValues).each { String value -> assert !script.contains(value) }
        }
        harness.log.each { String line ->
            harness.boundSecrets.each { String secret -> assert !line.contains(secret) }
        }
    }
}
