import jenkins.model.CauseOfInterruption
import org.jenkinsci.plugins.workflow.steps.FlowInterruptedException
import org.jenkinsci.plugins.workflow.steps.TimeoutStepExecution
import org.jenkinsci.plugins.workflow.support.steps.input.Rejection

/**
 * blueGreenDeploy(promotion: 'manual') through blueGreenPromotion: stage, ask with `input`, then promote on approval
 * or abort (build ABORTED) on a rejection, a timeout or an aborted build; failures of the CLI fail the build.
 */
class BlueGreenPromotionTest extends HarnessTestCase {
    static final Map MANUAL = [promotion: 'manual', promotionTimeout: '30m', submitter: 'ops']

    Map deployManually(Map options = MANUAL) {
        return (Map) harness.runStep('blueGreenDeploy', options, 'backend')
    }

    StepCall theInput() {
        List<StepCall> inputs = harness.callsOf('input')
        assert inputs.size() == 1
        return inputs[0]
    }

    void 'test by default promotion is automatic: one deploy and nobody is asked'() {
        fakeCli()
        harness.runStep('blueGreenDeploy', 'backend')

        assertBuildSucceeded()
        assert cliRuns*.command == ['credentials', 'deploy']
        assert harness.callsOf('input').empty && harness.callsOf('timeout').empty
        assert harness.callsOf('blueGreenPromotion').empty
    }

    void 'test an approval stages, asks with the preview address, then promotes and returns the promote report'() {
        fakeCli()
        harness.answerInput(approve: 'ops')
        Map report = deployManually()

        assertBuildSucceeded()
        assert cliRuns*.command == ['credentials', 'stage', 'promote']
        String question = theInput().named.message
        ['backend', 'registry.example.com:5000/maice-back:42', 'green', PREVIEW_URL, 'blue'].each { String part ->
            assert question.contains(part)
        }
        assert report.action == 'promote' && report.result == 'success'
        assert harness.log.contains('blueGreenDeploy: promotion of backend approved by ops')
        assert harness.archived.keySet() == ['bluegreen-stage-backend.json', 'bluegreen-promote-backend.json'] as Set
        assert harness.currentBuild.descriptions ==
            ['green staged \u00b7 maice-back:42', 'blue \u2192 green \u00b7 maice-back:42']
    }

    void 'test the input names who may answer, has a stable id and waits at most promotionTimeout'() {
        fakeCli()
        harness.answerInput(approve: 'ops')
        deployManually()

        assert theInput().named.subMap(['id', 'ok', 'submitter', 'submitterParameter']) ==
            [id: 'Promote-backend', ok: 'Promote', submitter: 'ops', submitterParameter: 'approver']
        assert harness.callsOf('timeout')*.named == [[time: 30, unit: 'MINUTES']]
    }

    void 'test promotionTimeout takes seconds, minutes and hours'() {
        ['90s': [time: 90, unit: 'SECONDS'], '2h': [time: 2, unit: 'HOURS'], '45m': [time: 45, unit: 'MINUTES']]
            .each { String given, Map expected ->
                freshHarness()
                fakeCli()
                harness.answerInput(approve: 'ops')
                deployManually(promotion: 'manual', promotionTimeout: given)

                assertBuildSucceeded()
                assert harness.callsOf('timeout')*.named == [expected]
            }
    }

    void 'test without promotionTimeout or submitter the input waits for anyone, with no timeout'() {
        fakeCli()
        harness.answerInput(approve: 'anyone-at-all')
        deployManually(promotion: 'manual')

        assertBuildSucceeded()
        assert harness.callsOf('timeout').empty
        assert !theInput().named.containsKey('submitter')
    }

    void 'test the stage runs with the credentials and the image, promote with monitoring and no secrets'() {
        fakeCli()
        harness.answerInput(approve: 'ops')
        deployManually(MANUAL + [image: 'reg:5000/maice-back:7', config: 'deploy/prod.yml', lang: 'ko', monitor: '60s'])

        Map stage = cliRun('stage')
        Map promote = cliRun('promote')
        [stage, promote].each { Map env ->
            assert env.subMap(['BLUEGREEN_SERVICE', 'BLUEGREEN_CONFIG', 'BLUEGREEN_LANG']) ==
                [BLUEGREEN_SERVICE: 'backend', BLUEGREEN_CONFIG: 'deploy/prod.yml', BLUEGREEN_LANG: 'ko']
            assert env.BLUEGREEN_CLI == "${harness.tmp.path}/bluegreen.pyz"
        }
        assert stage.BLUEGREEN_IMAGE == 'reg:5000/maice-back:7' && !stage.containsKey('BLUEGREEN_MONITOR')
        assert stage.DATABASE_URL == 'postgresql://maice:db-s3cret@db/maice' && stage.ADMIN_PASSWORD == 'admin-pa55word'
        assert stage.BLUEGREEN_REPORT == "${harness.tmp.path}/bluegreen-stage-backend.json"
        assert promote.BLUEGREEN_MONITOR == '60s' && !promote.containsKey('BLUEGREEN_IMAGE')
        assert !promote.containsKey('DATABASE_URL') && !promote.containsKey('ADMIN_PASSWORD')
        assert promote.BLUEGREEN_REPORT == "${harness.tmp.path}/bluegreen-promote-backend.json"
        assert harness.callsOf('libraryResource').size() == 1
        // one lookup of the credentials, bound around the stage only (the other call probes the optional one)
        assert cliRuns*.command.count('credentials') == 1
        assert harness.callsOf('withCredentials').size() == 2
    }

    void 'test the lock is held from the stage until the promote, the input waiting inside it'() {
        List<String> events = []
        harness.registerStep('lock') { Map options, Closure body ->
            events << "lock ${options.resource}".toString()
            body()
            events << 'released'
        }
        fakeCli()
        harness.registerStep('input') { Map options ->
            events << 'input'
            'ops'
        }
        // a local copy: Groovy 2.4 cannot compile a closure that reads a superclass's static constant
        Map<String, String> watched = [(STAGE_SCRIPT): 'stage', (PROMOTE_SCRIPT): 'promote']
        harness.onSh({ String script, Map env -> watched.containsKey(script) }) { String script, Map env ->
            events << watched[script]
            new File(env.BLUEGREEN_REPORT).text = '{"result": "ok"}'
            0
        }
        deployManually()

        assertBuildSucceeded()
        assert events == ['lock bluegreen-backend', 'stage', 'input', 'promote', 'released']
    }

    void 'test a rejection removes the staged color and ends the build ABORTED saying who rejected it'() {
        fakeCli()
        harness.answerInput(reject: 'ops')
        Map report = deployManually()

        assertBuildAborted(Rejection)
        assert report == null
        assert cliRuns*.command == ['credentials', 'stage', 'abort']
        assert harness.log.contains('blueGreenDeploy: backend is not promoted: rejected by ops; ' +
            'removing the staged green (bluegreen abort)')
        assert !cliRun('abort').containsKey('DATABASE_URL')
        assert cliRun('abort').BLUEGREEN_REPORT == "${harness.tmp.path}/bluegreen-abort-backend.json"
        assert harness.archived.keySet() == ['bluegreen-stage-backend.json', 'bluegreen-abort-backend.json'] as Set
        assert harness.currentBuild.description == 'green aborted \u00b7 maice-back:42'
    }

    void 'test a rejection by a user Jenkins does not know says rejected'() {
        fakeCli()
        harness.answerInput(reject: null)
        deployManually()

        assertBuildAborted(Rejection)
        assert harness.log.any { it.contains('backend is not promoted: rejected; removing the staged green') }
    }

    void 'test nobody answering within promotionTimeout removes the staged color and aborts the build'() {
        fakeCli()
        harness.answerInput(noAnswer: true)
        deployManually()

        assertBuildAborted(TimeoutStepExecution.ExceededTimeout)
        assert cliRuns*.command == ['credentials', 'stage', 'abort']
        assert harness.log.any { it.contains('backend is not promoted: timed out: nobody answered within 30m') }
    }

    void 'test aborting the build while the input waits removes the staged color'() {
        fakeCli()
        harness.answerInput(abortBuild: 'bob')
        deployManually()

        assertBuildAborted(CauseOfInterruption.UserInterruption)
        assert cliRuns*.command == ['credentials', 'stage', 'abort']
        assert harness.log.any { it.contains('backend is not promoted: the build was aborted by bob') }
    }

    void 'test a failed stage fails the build with its reason and asks nobody'() {
        String reason = 'green failed its health check (HTTP 500 on /health/simple); blue still serves'
        fakeCli(stage: [status: 1, report: [result: 'failed', exit_code: 1, reason: reason]])
        deployManually()

        assertBuildFailed(reason)
        assert cliRuns*.command == ['credentials', 'stage']
        assert harness.callsOf('input').empty
    }

    void 'test a stage refused because another deploy is staged fails the build with the CLI reason'() {
        String reason = 'backend: green is already staged (build 41); promote or abort it first'
        fakeCli(stage: [status: 4, report: [result: 'rejected', exit_code: 4, reason: reason]])
        deployManually()

        assertBuildFailed(reason)
        assert harness.callsOf('input').empty
    }

    void 'test a failed promote fails the build with the CLI reason'() {
        String reason = 'nginx did not confirm the reload within 10s; switched back to blue'
        fakeCli(promote: [status: 1, report: [result: 'failed', exit_code: 1, reason: reason]])
        harness.answerInput(approve: 'ops')
        deployManually()

        assertBuildFailed(reason)
        assert cliRuns*.command == ['credentials', 'stage', 'promote']
        assert harness.archived.containsKey('bluegreen-promote-backend.json')
    }

    void 'test a promote rolled back by monitoring fails the build with its reason'() {
        String reason = 'errors on green during monitoring; switched back to blue'
        fakeCli(promote: [status: 5, report: [result: 'monitor_rolled_back', exit_code: 5, reason: reason]])
        harness.answerInput(approve: 'ops')
        deployManually(MANUAL + [monitor: '2m'])

        assertBuildFailed(reason)
        assert cliRun('promote').BLUEGREEN_MONITOR == '2m'
    }

    void 'test an abort that fails after a rejection fails the build with its reason'() {
        String reason = 'could not remove maice-back-green: Docker engine unreachable'
        fakeCli(abort: [status: 6, report: [result: 'error', exit_code: 6, reason: reason]])
        harness.answerInput(reject: 'ops')
        deployManually()

        assertBuildFailed(reason)
        assert harness.log.any { it.contains('backend is not promoted: rejected by ops') }
    }

    void 'test an abort that dies without a report fails the build with its exit code'() {
        fakeCli(abort: [status: 1, report: null])
        harness.answerInput(noAnswer: true)
        deployManually()

        assertBuildFailed('bluegreen abort backend failed with exit code 1 and wrote no report; see the log above')
    }

    void 'test a stage report without a preview address still asks, saying so'() {
        fakeCli(stage: [report: [preview_url: null]])
        harness.answerInput(approve: 'ops')
        deployManually()

        assertBuildSucceeded()
        assert theInput().named.message.contains('Preview: none reported.')
    }

    void 'test a report name given is the promote or abort report, the stage report keeps its own name'() {
        fakeCli()
        harness.answerInput(approve: 'ops')
        deployManually(MANUAL + [report: 'deploy-backend.json'])

        assert cliRun('stage').BLUEGREEN_REPORT == "${harness.tmp.path}/bluegreen-stage-backend.json"
        assert cliRun('promote').BLUEGREEN_REPORT == "${harness.tmp.path}/deploy-backend.json"
    }

    void 'test a bad promotionTimeout fails the build before anything runs'() {
        ['30', '30 m', '0m', '1d', '-5m', '1.5h', 'soon', ''].each { String given ->
            freshHarness()
            fakeCli()
            deployManually(promotion: 'manual', promotionTimeout: given)

            assertBuildFailed("blueGreenDeploy: promotionTimeout '${given}' is not a duration " +
                "such as '90s', '30m' or '2h'")
            assert harness.callsOf('writeFile').empty && harness.callsOf('sh').empty
        }
    }

    void 'test promotion must be automatic or manual'() {
        ['Manual', 'auto', null].each { Object given ->
            freshHarness()
            harness.runStep('blueGreenDeploy', [promotion: given], 'backend')

            assertBuildFailed("blueGreenDeploy: promotion must be 'automatic' or 'manual', not '${given}'")
            assert harness.callsOf('writeFile').empty
        }
    }

    void 'test promotionTimeout and submitter are refused with automatic promotion'() {
        [[promotionTimeout: '30m'], [submitter: 'ops'], [promotion: 'automatic', submitter: 'ops']].each { Map given ->
            freshHarness()
            harness.runStep('blueGreenDeploy', given, 'backend')

            assertBuildFailed("blueGreenDeploy: promotionTimeout and submitter apply to promotion: 'manual' only")
            assert harness.callsOf('writeFile').empty
        }
    }

    void 'test a submitter that names nobody is refused rather than letting anyone promote'() {
        ['', '  ', ['ops']].each { Object given ->
            freshHarness()
            deployManually(promotion: 'manual', submitter: given)

            assertBuildFailedWith("blueGreenDeploy: submitter '${given}' names nobody")
            assert harness.callsOf('writeFile').empty
        }
    }

    void 'test an invalid service fails before anything runs, also with manual promotion'() {
        harness.runStep('blueGreenDeploy', MANUAL, 'Backend; reboot')

        assertBuildFailedWith('is not a service name')
        assert harness.callsOf('writeFile').empty
    }

    void 'test useLock false promotes without the lock step'() {
        fakeCli()
        harness.answerInput(approve: 'ops')
        deployManually(MANUAL + [useLock: false])

        assertBuildSucceeded()
        assert harness.callsOf('lock').empty
    }

    void 'test no sh script carries a secret or a user value during a manual promotion'() {
        Map hostile = [image: 'evil;rm -rf /', config: '$(id).yml', lang: '`reboot`', monitor: '60s; curl x | sh',
                       report: 'r.json', submitter: "ops'; reboot"]
        harness.addStringCredential('maice-redis-url', 'redis://:redis-s3cret@redis:6379/0')
        fakeCli()
        harness.answerInput(reject: "ops'; reboot")
        deployManually([promotion: 'manual', promotionTimeout: '30m'] + hostile)

        assertBuildAborted(Rejection)
        assertScriptsCarryNoValues([CREDENTIALS_SCRIPT, STAGE_SCRIPT, ABORT_SCRIPT], hostile.values() + ['backend'])
        assert cliRun('stage').BLUEGREEN_IMAGE == 'evil;rm -rf /'
        assert !theInput().named.message.contains('redis-s3cret')
    }

    void 'test in a declarative pipeline a rejection aborts the stage and runs post aborted, not failure'() {
        fakeCli()
        harness.answerInput(reject: 'ops')
        harness.runScript('''
            pipeline {
                agent any
                stages {
                    stage('Deploy') { steps { blueGreenDeploy('backend', promotion: 'manual', submitter: 'ops') } }
                    stage('Smoke') { steps { echo 'never' } }
                }
                post {
                    aborted { echo 'not promoted' }
                    failure { echo 'failed' }
                }
            }
        ''')

        assertBuildAborted(Rejection)
        assert harness.pipeline.statusOf('Deploy') == 'aborted'
        assert harness.pipeline.statusOf('Smoke') == 'skipped (earlier failure)'
        assert harness.log.contains('not promoted') && !harness.log.contains('failed')
        assert cliRuns*.command == ['credentials', 'stage', 'abort']
    }

    // ---- where the question waits, and what ends it --------------------------------------------------------------

    static final Map ON_LABEL = MANUAL + [label: 'docker-host']
    static final String INSIDE_NODE = 'blueGreenDeploy: manual promotion called inside a node'

    /** A manual deploy from a stage with `agent none`: the step takes its nodes from the label. */
    Map deployFromAgentNone(Map options = ON_LABEL) {
        return (Map) harness.runStepWithoutAgent('blueGreenDeploy', options, 'backend')
    }

    void 'test with a label the question waits on no agent: stage and promote each take a node of it'() {
        fakeCli()
        harness.answerInput(approve: 'ops')
        Map report = deployFromAgentNone()

        assertBuildSucceeded()
        assert report.action == 'promote'
        assert harness.callsOf('node')*.args*.getAt(0) == ['docker-host', 'docker-host']
        assert theInput().env.NODE_NAME == null
        assert cliRuns*.command == ['credentials', 'stage', 'promote']
        assert cliRuns.every { it.env.NODE_NAME == harness.agentName }
        assert harness.callsOf('libraryResource').size() == 2  // the CLI delivered on each node it takes
        assert !harness.log.any { it.startsWith(INSIDE_NODE) }
    }

    void 'test inside a node it warns that the executor stays taken while the question waits'() {
        fakeCli()
        harness.answerInput(approve: 'ops')
        deployManually()

        assertBuildSucceeded()
        assert harness.log.any { it.startsWith("${INSIDE_NODE} (${harness.agentName}): its executor stays taken") }
        assert theInput().env.NODE_NAME == harness.agentName
    }

    void 'test every end of the question but an approval removes the staged color on a node, the question on none'() {
        Map<String, List> ends = [
            rejected: [[reject: 'ops'], 'ABORTED', 'rejected by ops'],
            'timed out': [[noAnswer: true], 'ABORTED', 'timed out: nobody answered within 30m'],
            'build aborted': [[abortBuild: 'bob'], 'ABORTED', 'the build was aborted by bob'],
            'input failed': [[throws: new IOException('input: no such user ops')], 'FAILURE',
                             'the question ended with java.io.IOException: input: no such user ops'],
        ]
        ends.each { String end, List expected ->
            freshHarness()
            fakeCli()
            harness.answerInput((Map) expected[0])
            deployFromAgentNone()

            assert harness.currentBuild.result == expected[1]: end
            assert cliRuns*.command == ['credentials', 'stage', 'abort']: end
            assert cliRun('abort').NODE_NAME == harness.agentName && theInput().env.NODE_NAME == null
            assert harness.log.contains("blueGreenDeploy: backend is not promoted: ${expected[2]}; ".toString() +
                'removing the staged green (bluegreen abort)'): end
        }
        assert harness.failure.message == 'input: no such user ops'  // the last: rethrown as it came
    }

    void 'test when the sandbox forbids reading why, the staged color is removed all the same'() {
        // A library loaded untrusted: FlowInterruptedException.getCauses and Rejection.getUser are not whitelisted.
        [[reject: 'ops'], [noAnswer: true], [abortBuild: 'bob']].each { Map answer ->
            freshHarness()
            harness.untrustedLibrary = true
            fakeCli()
            harness.answerInput(answer)
            deployFromAgentNone()
            harness.untrustedLibrary = false

            assert cliRuns*.command == ['credentials', 'stage', 'abort']: answer
            assert harness.log.any { it.startsWith('blueGreenDeploy: backend is not promoted: why cannot be read ' +
                'here (org.jenkinsci.plugins.scriptsecurity.sandbox.RejectedAccessException: Scripts not permitted') }
            assert harness.currentBuild.result == 'ABORTED' && harness.failure instanceof FlowInterruptedException
        }
    }

    void 'test a retry around a manual deploy stages and asks again after a timeout, not after a rejection'() {
        // Jenkins marks the timeout's interruption not actual (TimeoutStepExecution.Callback.onFailure), and
        // RetryStepExecution retries exactly those: the staged color is gone before the second stage.
        fakeCli()
        harness.answerInput(noAnswer: true)
        harness.answerInput(approve: 'ops')
        harness.runScript("""retry(2) { blueGreenDeploy('backend', promotion: 'manual', promotionTimeout: '30m',
                                                        label: 'docker-host') }""")

        assertBuildSucceeded()
        assert cliRuns*.command == ['credentials', 'stage', 'abort', 'credentials', 'stage', 'promote']

        freshHarness()
        fakeCli()
        harness.answerInput(reject: 'ops')
        harness.runScript("retry(2) { blueGreenDeploy('backend', promotion: 'manual', label: 'docker-host') }")
        assertBuildAborted(Rejection)
        assert cliRuns*.command == ['credentials', 'stage', 'abort']
    }

    void 'test a catchError around a manual deploy ends the build ABORTED and goes on, the staged color removed'() {
        fakeCli()
        harness.answerInput(noAnswer: true)
        harness.runScript("""catchError(buildResult: 'SUCCESS') {
                                 blueGreenDeploy('backend', promotion: 'manual', promotionTimeout: '30m',
                                                 label: 'docker-host')
                             }
                             echo 'after the deploy'""")

        assert harness.currentBuild.result == 'ABORTED' && harness.log.contains('after the deploy')
        assert cliRuns*.command == ['credentials', 'stage', 'abort']
    }

    void 'test in a declarative pipeline with agent none the Deploy stage holds no agent while it asks'() {
        fakeCli()
        harness.answerInput(approve: 'ops')
        harness.runScript('''
            pipeline {
                agent none
                stages {
                    stage('Deploy') {
                        steps {
                            blueGreenDeploy('backend', promotion: 'manual', submitter: 'ops', label: 'docker-host')
                        }
                    }
                }
            }
        ''')

        assertBuildSucceeded()
        assert theInput().env.NODE_NAME == null
        assert harness.callsOf('node').size() == 2
        assert !harness.log.any { it.startsWith(INSIDE_NODE) }
    }
}
