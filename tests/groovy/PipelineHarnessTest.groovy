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
            harness.runScript('String image = "x"; sh(script: "docker pull ${image}")')
        }
        assert failure.contains('sh got a GString')
    }

    void 'test an unscripted sh fails the test'() {
        String failure = shouldFail(AssertionError) {
            harness.runScript("sh 'make world'")
        }
        assert failure.contains('unscripted sh: make world')
    }

    void 'test sh sees withEnv and withCredentials values, which end with their block'() {
        harness.addStringCredential('token', 't0ken')
        harness.onSh('true', 0)
        harness.runScript('''
            withEnv(['A=1']) {
                withCredentials([string(credentialsId: 'token', variable: 'TOKEN')]) { sh 'true' }
            }
            sh 'true'
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
}
