/** The harness's own guards: what the pipeline tests rely on to catch a step or a script that should not pass. */
class PipelineHarnessTest extends HarnessTestCase {

    void 'test an unregistered step fails the test, whatever the script catches'() {
        String failure = shouldFail(AssertionError) {
            harness.runScript('try { notAStep(1) } catch (Exception ignored) { echo "swallowed" }')
        }
        assert failure.contains('unregistered step notAStep')
        assert harness.unregistered == ['notAStep']
    }

    void 'test a GString sh script fails the test'() {
        String failure = shouldFail(AssertionError) {
            harness.runScript('node { String image = "x"; sh(script: "docker pull ${image}") }')
        }
        assert failure.contains('sh got a GString')
    }

    void 'test an unscripted sh fails the test'() {
        String failure = shouldFail(AssertionError) {
            harness.runScript("node { sh 'make world' }")
        }
        assert failure.contains('unscripted sh: make world')
    }

    void 'test sh sees withEnv and withCredentials values, which end with their block'() {
        harness.addStringCredential('token', 't0ken')
        harness.onSh('true', 0)
        harness.runScript('''
            node {
                withEnv(['A=1']) {
                    withCredentials([string(credentialsId: 'token', variable: 'TOKEN')]) { sh 'true' }
                }
                sh 'true'
            }
        ''')

        assertBuildSucceeded()
        List<StepCall> shells = harness.callsOf('sh')
        assert shells[0].env.A == '1' && shells[0].env.TOKEN == 't0ken'
        assert !shells[1].env.containsKey('A') && !shells[1].env.containsKey('TOKEN')
        assert harness.boundSecrets == ['t0ken'] as Set
    }

    void 'test error fails the build with its message'() {
        harness.runScript("error('stop here')")

        assertBuildFailed('stop here')
    }

    void 'test libraryResource reads the real resources, Base64 byte for byte'() {
        harness.resources = new File(REPO, 'resources')
        String text = harness.runScript("libraryResource(resource: 'bluegreen/Rollback.Jenkinsfile', encoding: 'Base64')")

        assert text.decodeBase64() == new File(REPO, 'resources/bluegreen/Rollback.Jenkinsfile').bytes
    }

    void 'test a missing library resource fails the build naming it'() {
        harness.runScript("libraryResource('bluegreen/nothing.here')")

        assertBuildFailedWith('No such library resource bluegreen/nothing.here')
    }

    void 'test an approved input returns the approver when submitterParameter asks for it'() {
        harness.answerInput(approve: 'ops')
        harness.answerInput(approve: 'ops')
        List answers = (List) harness.runScript('''
            [input(message: 'Go?', submitter: 'ops, dev', submitterParameter: 'who'), input(message: 'Again?')]
        ''')

        assertBuildSucceeded()
        assert answers == ['ops', null]
        assert harness.inputAnswers.empty
    }

    void 'test a rejected input aborts the build with a Rejection naming the user'() {
        harness.answerInput(reject: 'alice')
        harness.runScript("input(message: 'Go?')")

        assertBuildAborted(org.jenkinsci.plugins.workflow.support.steps.input.Rejection)
        assert harness.failure.causes[0].user.id == 'alice'
        assert harness.failure.message == 'Rejected by alice'
    }

    void 'test nobody answering ends the input when its timeout expires'() {
        harness.answerInput(noAnswer: true)
        harness.runScript("timeout(time: 30, unit: 'MINUTES') { input(message: 'Go?') }")

        assertBuildAborted(org.jenkinsci.plugins.workflow.steps.TimeoutStepExecution.ExceededTimeout)
        assert harness.callsOf('timeout')*.named == [[time: 30, unit: 'MINUTES']]
    }

    void 'test an input nobody answers and no timeout ends fails the test'() {
        harness.answerInput(noAnswer: true)
        String failure = shouldFail(AssertionError) {
            harness.runScript("input(message: 'Go?')")
        }
        assert failure.contains('input waits forever')
    }

    void 'test an unscripted input fails the test'() {
        String failure = shouldFail(AssertionError) {
            harness.runScript("input(message: 'Go?')")
        }
        assert failure.contains('unscripted input: Go?')
    }

    void 'test only a submitter may approve an input, anyone may reject it'() {
        harness.answerInput(approve: 'mallory')
        String failure = shouldFail(AssertionError) {
            harness.runScript("input(message: 'Go?', submitter: 'ops')")
        }
        assert failure.contains('mallory may not approve this input (submitter: ops)')

        harness.answerInput(reject: 'mallory')
        harness.runScript("input(message: 'Go?', submitter: 'ops')")
        assertBuildAborted(org.jenkinsci.plugins.workflow.support.steps.input.Rejection)
    }

    void 'test timeout refuses a time that is not a positive int'() {
        shouldFail(AssertionError) {
            harness.runScript("timeout(time: '30m') { echo 'never' }")
        }
        shouldFail(AssertionError) {
            harness.runScript("timeout(time: 30, unit: 'FORTNIGHTS') { echo 'never' }")
        }
    }

    void 'test an interruption in a declarative stage aborts it and runs post aborted'() {
        harness.answerInput(abortBuild: 'bob')
        harness.runScript('''
            pipeline {
                agent any
                stages {
                    stage('Ask') { steps { input(message: 'Go?') } }
                    stage('After') { steps { echo 'never' } }
                }
                post {
                    aborted { echo 'post: aborted' }
                    failure { echo 'post: failure' }
                }
            }
        ''')

        assertBuildAborted(jenkins.model.CauseOfInterruption.UserInterruption)
        assert harness.pipeline.statusOf('Ask') == 'aborted'
        assert harness.pipeline.statusOf('After') == 'skipped (earlier failure)'
        assert harness.log.contains('post: aborted') && !harness.log.contains('post: failure')
    }

    void 'test steps that need a workspace fail the test outside a node, and node gives one'() {
        String failure = shouldFail(AssertionError) {
            harness.runScript("writeFile(file: 'x', text: 'y')")
        }
        assert failure.contains('writeFile outside any node')

        harness.onSh('true', 0)
        harness.runScript('''node('docker-host') { sh 'true'; echo env.NODE_NAME }; echo "after: ${env.NODE_NAME}"''')
        assertBuildSucceeded()
        assert harness.callsOf('node')*.args*.getAt(0) == ['docker-host']
        assert harness.callsOf('sh')[0].env.NODE_NAME == harness.agentName
        assert harness.log == [harness.agentName, 'after: null']
    }

    void 'test declarative agents: any and a label take a node for the stages, none takes none'() {
        harness.onSh('true', 0)
        harness.runScript('''
            pipeline {
                agent none
                stages {
                    stage('Free') { steps { echo "free: ${env.NODE_NAME}" } }
                    stage('Held') {
                        agent { label params.WHERE ?: '' }
                        steps { sh 'true' }
                    }
                    stage('Any') {
                        agent any
                        steps { sh 'true' }
                    }
                }
            }
        ''', 'inline', [WHERE: 'docker-host'])

        assertBuildSucceeded()
        assert harness.log.contains('free: null')
        assert harness.callsOf('node')*.args*.getAt(0) == ['docker-host', null]
    }

    void 'test an expired timeout is not an actual interruption once it leaves the timeout step'() {
        harness.answerInput(noAnswer: true)
        harness.runScript("timeout(time: 1, unit: 'MINUTES') { input(message: 'Go?') }")

        assert !harness.failure.actualInterruption
        harness.answerInput(reject: 'alice')
        harness.runScript("timeout(time: 1, unit: 'MINUTES') { input(message: 'Go?') }")
        assert harness.failure.actualInterruption
    }

    void 'test retry runs the body again after a failure or an expired timeout, never after a rejection'() {
        harness.answerInput(noAnswer: true)
        harness.answerInput(approve: 'ops')
        harness.runScript("retry(3) { timeout(time: 1, unit: 'MINUTES') { input(message: 'Go?') } }")
        assertBuildSucceeded()
        assert harness.callsOf('input').size() == 2 && harness.log.contains('Retrying')

        freshHarness()
        harness.answerInput(reject: 'alice')
        harness.runScript("retry(3) { input(message: 'Go?') }")
        assertBuildAborted(org.jenkinsci.plugins.workflow.support.steps.input.Rejection)
        assert harness.callsOf('input').size() == 1
    }

    void 'test catchError catches an interruption, the build ABORTED, and goes on, but not with catchInterruptions false'() {
        harness.answerInput(reject: 'alice')
        harness.runScript("catchError(buildResult: 'SUCCESS') { input(message: 'Go?') }; echo 'went on'")
        assert harness.currentBuild.result == 'ABORTED' && harness.log.contains('went on')

        freshHarness()
        harness.answerInput(reject: 'alice')
        harness.runScript("catchError(catchInterruptions: false) { input(message: 'Go?') }; echo 'went on'")
        assertBuildAborted(org.jenkinsci.plugins.workflow.support.steps.input.Rejection)
        assert !harness.log.contains('went on')

        freshHarness()
        harness.answerInput(noAnswer: true)
        harness.runScript("catchError(catchInterruptions: false) { timeout(time: 1, unit: 'MINUTES') { " +
            "input(message: 'Go?') } }; echo 'went on'")
        assert harness.currentBuild.result == 'ABORTED' && harness.log.contains('went on')
    }

    void 'test an input can fail with an exception of the test, and an untrusted library cannot read causes'() {
        harness.answerInput(throws: new IOException('input step broke'))
        harness.runScript("input(message: 'Go?')")
        assertBuildFailed('input step broke')

        harness.untrustedLibrary = true
        harness.answerInput(reject: 'alice')
        harness.runScript('''
            try { input(message: 'Go?') } catch (e) { echo(e.causes.toString()) }
        ''')
        assert harness.failure instanceof org.jenkinsci.plugins.scriptsecurity.sandbox.RejectedAccessException
    }
}
