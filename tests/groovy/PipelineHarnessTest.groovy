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
}
