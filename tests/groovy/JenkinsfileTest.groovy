/** The app's Jenkinsfile and the Rollback job's pipeline, loaded and run through the declarative interpreter. */
class JenkinsfileTest extends HarnessTestCase {
    static final String GIT_DIFF = 'git diff --quiet "$GIT_PREVIOUS_SUCCESSFUL_COMMIT" HEAD -- "$BACKEND_SOURCES"'
    static final String STAGES = 'Detect changes, Build & push, Deploy, Post-deploy monitoring'

    File jenkinsfile = new File(REPO, 'Jenkinsfile')
    File rollbackJenkinsfile = new File(REPO, 'resources/bluegreen/Rollback.Jenkinsfile')
    List<List> deploys = []
    List<List> rollbacks = []

    @Override
    void setUp() {
        super.setUp()
        deploys = []
        rollbacks = []
        harness.addUsernamePassword('docker-registry', 'ci-bot', 'registry-pa55')
        harness.onSh('docker build') { String script, Map env -> 0 }
    }

    /** Stands in for the library steps, to test the Jenkinsfiles alone. */
    void mockLibrarySteps(Map report = [description: 'blue \u2192 green \u00b7 maice-back:42', result: 'success']) {
        harness.registerStep('blueGreenDeploy') { Object[] args ->
            deploys << (args as List)
            report
        }
        harness.registerStep('blueGreenRollback') { Object[] args ->
            rollbacks << (args as List)
            [result: 'success']
        }
    }

    void previousSuccess(String commit, int diffStatus) {
        harness.env.put('GIT_PREVIOUS_SUCCESSFUL_COMMIT', commit)
        harness.onSh(GIT_DIFF, diffStatus)
    }

    List<String> stagesThatRan() {
        return harness.pipeline.ranStages
    }

    void 'test the Jenkinsfile declares its library, parameters and no concurrent builds'() {
        mockLibrarySteps()
        previousSuccess('abc123', 0)
        harness.runJenkinsfile(jenkinsfile)

        assert harness.libraries == ['bluegreen']
        DeclarativePipeline pipeline = harness.pipeline
        assert pipeline.options*.type == ['disableConcurrentBuilds']
        assert pipeline.parameters.collect { [it.type, it.args.name] } ==
            [['choice', 'DEPLOY_ENV'], ['booleanParam', 'FORCE_REBUILD']]
        assert pipeline.parameters[0].args.choices == ['production', 'staging']
        assert pipeline.parameters[1].args.defaultValue == false
        assert harness.params == [DEPLOY_ENV: 'production', FORCE_REBUILD: false]
        assert pipeline.environment.BACKEND_IMAGE == 'maice-back'
        assert pipeline.environment.REGISTRY_URL
        assert pipeline.stages*.name.join(', ') == STAGES
    }

    void 'test with no change since the last successful build, build and deploy are skipped saying why'() {
        mockLibrarySteps()
        previousSuccess('abc123', 0)
        harness.runJenkinsfile(jenkinsfile)

        assertBuildSucceeded()
        assert stagesThatRan() == ['Detect changes']
        assert harness.shScripts() == [GIT_DIFF]
        assert harness.callsOf('sh')[0].env.GIT_PREVIOUS_SUCCESSFUL_COMMIT == 'abc123'
        assert deploys.empty
        assert harness.log.any {
            it.contains('No changes in backend/ since the last successful build (abc123): skipping build and deploy')
        }
        assert harness.log.contains('Stage "Build & push" skipped due to when conditional')
        assert harness.log.contains('Stage "Deploy" skipped due to when conditional')
    }

    void 'test a change builds, pushes and deploys the backend with monitoring'() {
        mockLibrarySteps()
        previousSuccess('abc123', 1)
        harness.runJenkinsfile(jenkinsfile)

        assertBuildSucceeded()
        assert stagesThatRan().join(', ') == STAGES
        StepCall build = harness.callsOf('sh').find { it.args[0].toString().contains('docker build') }
        String script = build.args[0]
        assert script.contains('printf \'%s\' "$REGISTRY_PASSWORD" |')
        assert script.contains('--password-stdin "$REGISTRY_URL"')
        assert script.contains('docker build --tag "$REGISTRY_URL/$BACKEND_IMAGE:$BUILD_NUMBER" "$BACKEND_SOURCES"')
        assert script.contains('docker push "$REGISTRY_URL/$BACKEND_IMAGE:$BUILD_NUMBER"')
        assert build.env.REGISTRY_USERNAME == 'ci-bot'
        assert build.env.REGISTRY_PASSWORD == 'registry-pa55'
        assert build.env.BACKEND_IMAGE == 'maice-back'
        assert build.env.BUILD_NUMBER == '42'
        assert deploys == [[[monitor: '60s', config: 'bluegreen.yml'], 'backend']]
        assert harness.log.contains(
            'Post-deploy monitoring: blue \u2192 green \u00b7 maice-back:42 stayed healthy for 60s after the switch.')
        harness.shScripts().each { String text -> assert !text.contains('registry-pa55') && !text.contains('ci-bot') }
    }

    void 'test FORCE_REBUILD builds and deploys without looking for changes'() {
        mockLibrarySteps()
        previousSuccess('abc123', 0)
        harness.runJenkinsfile(jenkinsfile, [FORCE_REBUILD: true])

        assertBuildSucceeded()
        assert harness.pipeline.statusOf('Detect changes') == 'skipped'
        assert stagesThatRan() == ['Build & push', 'Deploy', 'Post-deploy monitoring']
        assert !harness.shScripts().contains(GIT_DIFF)
        assert deploys.size() == 1
    }

    void 'test the first build, with no previous successful commit, builds and deploys'() {
        mockLibrarySteps()
        harness.runJenkinsfile(jenkinsfile)

        assertBuildSucceeded()
        assert stagesThatRan().join(', ') == STAGES
        assert harness.log.contains('No previous successful build: building and deploying backend.')
    }

    void 'test a commit git cannot compare with counts as a change'() {
        mockLibrarySteps()
        previousSuccess('gone42', 128)
        harness.runJenkinsfile(jenkinsfile)

        assertBuildSucceeded()
        assert deploys.size() == 1
        assert harness.log.any { it.contains('git could not compare with gone42 (exit 128)') }
    }

    void 'test DEPLOY_ENV staging deploys with the staging bluegreen config'() {
        mockLibrarySteps()
        harness.runJenkinsfile(jenkinsfile, [DEPLOY_ENV: 'staging'])

        assert deploys == [[[monitor: '60s', config: 'bluegreen.staging.yml'], 'backend']]
    }

    void 'test a failed deploy fails the build and skips monitoring'() {
        harness.registerStep('blueGreenDeploy') { Object[] args ->
            harness.invokeStep('error', ['green failed its health check; blue still serves'] as Object[])
        }
        harness.runJenkinsfile(jenkinsfile)

        assertBuildFailed('green failed its health check; blue still serves')
        assert harness.pipeline.statusOf('Deploy') == 'failed'
        assert harness.pipeline.statusOf('Post-deploy monitoring') == 'skipped (earlier failure)'
        assert harness.log.any { it.startsWith('The build failed.') }
    }

    void 'test the Jenkinsfile deploys through the real library step'() {
        harness.addStringCredential('maice-redis-url', 'redis://:redis-s3cret@redis:6379/0')
        fakeCli()
        previousSuccess('abc123', 1)
        harness.runJenkinsfile(jenkinsfile)

        assertBuildSucceeded()
        Map env = cliRun('deploy')
        assert env.NODE_NAME == harness.agentName
        assert env.BLUEGREEN_SERVICE == 'backend'
        assert env.BLUEGREEN_MONITOR == '60s'
        assert env.BLUEGREEN_CONFIG == 'bluegreen.yml'
        assert env.BACKEND_IMAGE == 'maice-back'
        assert env.REGISTRY_URL
        assert !env.containsKey('REGISTRY_PASSWORD')
        assert harness.currentBuild.description == 'blue \u2192 green \u00b7 maice-back:42'
        assert harness.boundSecrets.containsAll(['registry-pa55', 'redis://:redis-s3cret@redis:6379/0'])
        harness.shScripts().each { String script ->
            harness.boundSecrets.each { String secret -> assert !script.contains(secret) }
        }
    }

    void 'test the deploy pipeline runs on the label the example jenkins-yml gives the Rollback job'() {
        mockLibrarySteps()
        harness.runJenkinsfile(jenkinsfile)

        String declared = (new File(REPO, 'examples/maice/jenkins.yml').getText('UTF-8') =~ /(?m)^  label: (\S+)$/)[0][1]
        assert harness.callsOf('node')*.args*.getAt(0) == [declared]
        assert declared == 'docker-host'
    }

    void 'test the Rollback pipeline declares no parameters or options: the job owns them'() {
        mockLibrarySteps()
        harness.runJenkinsfile(rollbackJenkinsfile, [SERVICE: 'backend', REASON: 'errors since #42'])

        assert harness.libraries == ['bluegreen']
        assert harness.pipeline.parameters.empty
        assert harness.pipeline.options.empty
        assert !rollbackJenkinsfile.text.contains('parameters {')
    }

    void 'test the Rollback pipeline passes SERVICE and REASON to blueGreenRollback'() {
        mockLibrarySteps()
        harness.runJenkinsfile(rollbackJenkinsfile, [SERVICE: 'backend', REASON: 'errors since #42'])

        assertBuildSucceeded()
        assert rollbacks == [[[service: 'backend', reason: 'errors since #42']]]
    }

    void 'test the Rollback pipeline rolls back through the real library step'() {
        fakeCli()
        harness.runJenkinsfile(rollbackJenkinsfile, [SERVICE: 'backend', REASON: "it's broken; \$(reboot)"])

        assertBuildSucceeded()
        assert cliRun('rollback').BLUEGREEN_SERVICE == 'backend'
        assert cliRun('rollback').BLUEGREEN_REASON == "it's broken; \$(reboot)"
        assertScriptsCarryNoValues([CREDENTIALS_SCRIPT, ROLLBACK_SCRIPT], ["it's broken"])
    }

    void 'test the Rollback pipeline without SERVICE fails before any sh runs'() {
        fakeCli()
        harness.runJenkinsfile(rollbackJenkinsfile)

        assertBuildFailedWith('blueGreenRollback: no service given')
        assert harness.callsOf('sh').empty
    }

    /**
     * What Groovy did in this run, with the harness's temp dir written <root>: the steps in order (sh with its
     * script), what each CLI command found in its environment (BLUEGREEN_* and the bound variables), the result and
     * the description.
     */
    List whatGroovyDid() {
        String root = harness.root.path
        List steps = harness.calls.collect { StepCall call ->
            call.name == 'sh' ? "sh ${call.named.script ?: call.args[0]}".toString() : call.name
        }
        List runs = cliRuns.collect { Map run ->
            [run.command, run.env.findAll { String name, String value ->
                name.startsWith('BLUEGREEN_') || name in ['DATABASE_URL', 'ADMIN_USERNAME', 'ADMIN_PASSWORD']
            }.collectEntries { String name, String value -> [(name): value.replace(root, '<root>')] }]
        }
        // and Groovy never reads bluegreen.yml itself: the CLI alone interprets it
        assert !harness.callsOf('readFile').any { StepCall call -> call.named.file.toString().endsWith('.yml') }
        return [steps, runs, harness.currentBuild.result, harness.currentBuild.description]
    }

    void 'test a Docker Swarm config changes nothing in Groovy: the deploy and Rollback pipelines make the same calls'() {
        String compose = new File(REPO, 'examples/maice/bluegreen.yml').getText('UTF-8')
        String swarm = compose.replaceFirst(/(?m)^version: 1$/,
            'version: 1\nruntime: swarm   # each color is a Swarm service (endpoint mode dnsrr) on an overlay network')
        assert swarm.contains('runtime: swarm')
        Map<String, List> seen = [:]
        [compose: compose, swarm: swarm].each { String runtime, String config ->
            // the app's deploy pipeline, bluegreen.yml in its checkout
            freshHarness()
            new File(harness.workspace, 'bluegreen.yml').setText(config, 'UTF-8')
            fakeCli()
            previousSuccess('abc123', 1)
            harness.runJenkinsfile(jenkinsfile)
            assertBuildSucceeded()
            assert new File(harness.workspace, cliRun('deploy').BLUEGREEN_CONFIG).getText('UTF-8') == config
            List deploy = whatGroovyDid()

            // the Rollback job: no checkout, BLUEGREEN_CONFIG set on the agent
            freshHarness()
            File onAgent = new File(harness.root, 'srv/maice/bluegreen.yml')
            onAgent.parentFile.mkdirs()
            onAgent.setText(config, 'UTF-8')
            harness.env.put('BLUEGREEN_CONFIG', onAgent.path)
            fakeCli()
            harness.runJenkinsfile(rollbackJenkinsfile, [SERVICE: 'backend', REASON: 'errors since #42'])
            assertBuildSucceeded()
            assert new File(cliRun('rollback').BLUEGREEN_CONFIG).getText('UTF-8') == config
            seen[runtime] = [deploy, whatGroovyDid()]
        }
        assert seen.swarm == seen.compose
        assert seen.swarm[0][1]*.getAt(0) == ['credentials', 'deploy']
        assert seen.swarm[1][1]*.getAt(0) == ['credentials', 'rollback']
    }
}
