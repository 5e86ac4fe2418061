/**
 * Where the CLI runs: `label` (the step takes a node of it for each command), and `runner` / `runnerImage` (the
 * agent's python3, or docker-runner.sh running the bundle in a throwaway container), from the step's options or
 * BLUEGREEN_RUNNER / BLUEGREEN_RUNNER_IMAGE on the node.
 */
class BlueGreenAgentTest extends HarnessTestCase {
    static final String IMAGE = 'registry.example.com:5000/python:3.11'
    static final Map DOCKER = [runner: 'docker', runnerImage: IMAGE]

    /** The docker runner's env for a command, the script it ran and that it ran on an agent. */
    Map dockerRun(String command) {
        Map run = cliRuns.find { it.command == command }
        assert run: "no ${command} run"
        return run
    }

    void 'test runner docker runs every command through docker-runner-sh with its image and the state_dir'() {
        fakeCli()
        Map report = (Map) harness.runStep('blueGreenDeploy', DOCKER + [monitor: '60s'], 'backend')

        assertBuildSucceeded()
        assert report.result == 'success'
        assert cliRuns*.script == [DOCKER_CREDENTIALS_SCRIPT, DOCKER_DEPLOY_SCRIPT]
        Map env = cliRun('deploy')
        String runnerScript = "${harness.tmp.path}/bluegreen-docker-runner.sh"
        assert env.subMap(['BLUEGREEN_RUNNER', 'BLUEGREEN_RUNNER_IMAGE', 'BLUEGREEN_RUNNER_SCRIPT',
                           'BLUEGREEN_RUNNER_STATE_DIR', 'BLUEGREEN_CLI', 'BLUEGREEN_MONITOR']) ==
            [BLUEGREEN_RUNNER: 'docker', BLUEGREEN_RUNNER_IMAGE: IMAGE, BLUEGREEN_RUNNER_SCRIPT: runnerScript,
             BLUEGREEN_RUNNER_STATE_DIR: STATE_DIR, BLUEGREEN_CLI: "${harness.tmp.path}/bluegreen.pyz".toString(),
             BLUEGREEN_MONITOR: '60s']
        assert env.DATABASE_URL == 'postgresql://maice:db-s3cret@db/maice'  // bound: the runner passes it by name
        assert new File(runnerScript).bytes == new File(REPO, 'resources/bluegreen/docker-runner.sh').bytes
        assertScriptsCarryNoValues([DOCKER_CREDENTIALS_SCRIPT, DOCKER_DEPLOY_SCRIPT], [IMAGE, STATE_DIR])
    }

    void 'test BLUEGREEN_RUNNER and BLUEGREEN_RUNNER_IMAGE on the node choose the docker runner for every step'() {
        harness.env.put('BLUEGREEN_RUNNER', 'docker')
        harness.env.put('BLUEGREEN_RUNNER_IMAGE', IMAGE)
        fakeCli()
        harness.runJenkinsfile(new File(REPO, 'resources/bluegreen/Rollback.Jenkinsfile'),
            [SERVICE: 'backend', REASON: 'errors since #42'])

        assertBuildSucceeded()
        assert cliRuns*.script == [DOCKER_CREDENTIALS_SCRIPT, DOCKER_ROLLBACK_SCRIPT]
        assert cliRun('rollback').BLUEGREEN_RUNNER_IMAGE == IMAGE
        assert cliRun('rollback').BLUEGREEN_REASON == 'errors since #42'
    }

    void 'test runner host on a docker node runs the agent python3 and tells the CLI so'() {
        harness.env.put('BLUEGREEN_RUNNER', 'docker')
        harness.env.put('BLUEGREEN_RUNNER_IMAGE', IMAGE)
        fakeCli()
        harness.runStep('blueGreenRollback', [runner: 'host'], 'backend')

        assertBuildSucceeded()
        assert cliRuns*.script == [CREDENTIALS_SCRIPT, ROLLBACK_SCRIPT]
        assert cliRun('rollback').BLUEGREEN_RUNNER == 'host'  // not the node's docker: no state_dir mount check
        assert !cliRun('rollback').containsKey('BLUEGREEN_RUNNER_STATE_DIR')
    }

    void 'test by default the agent python3 runs the CLI'() {
        fakeCli()
        harness.runStep('blueGreenDeploy', 'backend')

        assert cliRuns*.script == [CREDENTIALS_SCRIPT, DEPLOY_SCRIPT]
        assert cliRun('deploy').BLUEGREEN_RUNNER == 'host'
        assert harness.callsOf('writeFile').size() == 1  // the CLI alone: no runner script
    }

    void 'test a bad runner, a docker runner without an image or an image for the host runner fail before anything runs'() {
        [[[runner: 'podman'], "runner must be 'host' (the agent's python3) or 'docker'"],
         [[runner: 'docker'], "runner 'docker' needs an image with python3 >= 3.10"],
         [[runner: 'host', runnerImage: IMAGE], "runnerImage applies to runner: 'docker' only"],
         [[runnerImage: IMAGE], "runnerImage applies to runner: 'docker' only"],
         [[runner: 'docker', runnerImage: ' '], "runnerImage ' ' names no image"]].each { List example ->
            freshHarness()
            fakeCli()
            harness.runStep('blueGreenDeploy', (Map) example[0], 'backend')

            assertBuildFailedWith((String) example[1])
            assert harness.callsOf('sh').empty
        }
    }

    void 'test a BLUEGREEN_RUNNER the library does not know is named with the node'() {
        harness.env.put('BLUEGREEN_RUNNER', 'Docker')
        fakeCli()
        harness.runStep('blueGreenDeploy', 'backend')

        assertBuildFailed("blueGreenDeploy: BLUEGREEN_RUNNER on ${harness.agentName} must be 'host' or 'docker', " +
            "not 'Docker'")
        assert harness.callsOf('sh').empty
    }

    void 'test with a label the step takes a node of it, inside the lock, and runs the commands there'() {
        List<String> events = []
        harness.registerStep('lock') { Map options, Closure body ->
            events << 'lock'
            body()
            events << 'released'
        }
        harness.registerStep('node') { Object label, Closure body ->
            events << "node ${label}".toString()
            harness.onAgent(label, body)
        }
        fakeCli()
        harness.runStepWithoutAgent('blueGreenDeploy', [label: 'docker-host && linux'], 'backend')

        assertBuildSucceeded()
        assert events == ['lock', 'node docker-host && linux', 'released']
        assert cliRuns.every { it.env.NODE_NAME == harness.agentName }
        assert cliRuns*.command == ['credentials', 'deploy']
    }

    void 'test without a label and outside any node the step fails saying how to give it one'() {
        fakeCli()
        harness.runStepWithoutAgent('blueGreenRollback', 'backend')

        assertBuildFailedWith("blueGreenRollback: no agent to run on: call it inside a node (a stage with an agent), " +
            "or give label: 'docker-host'")
        assert harness.callsOf('node').empty && harness.callsOf('lock').empty
    }

    void 'test a label that is blank or two lines fails before anything runs'() {
        ['', '  ', 'docker\nlinux', ['docker']].each { Object label ->
            freshHarness()
            fakeCli()
            harness.runStepWithoutAgent('blueGreenDeploy', [label: label], 'backend')

            assertBuildFailedWith('is not a Jenkins label expression')
            assert harness.callsOf('node').empty
        }
    }

    void 'test the Rollback pipeline runs on AGENT_LABEL, and on any agent without it'() {
        // a local copy: Groovy 2.4 cannot compile a closure that reads a superclass's static constant
        File rollback = new File(REPO, 'resources/bluegreen/Rollback.Jenkinsfile')
        [[[SERVICE: 'backend', AGENT_LABEL: 'docker-host'], 'docker-host'], [[SERVICE: 'backend'], '']].each { List run ->
            freshHarness()
            fakeCli()
            harness.runJenkinsfile(rollback, (Map) run[0])

            assertBuildSucceeded()
            assert harness.callsOf('node')*.args*.getAt(0) == [run[1]]
            assert cliRun('rollback').NODE_NAME == harness.agentName
        }
    }
}
