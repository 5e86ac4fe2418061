/** blueGreenDeploy: delivers the CLI, binds credentials, serializes, runs `deploy` from env only, reports. */
class BlueGreenDeployTest extends HarnessTestCase {

    void 'test the positional form deploys the named service'() {
        fakeCli()
        Map report = (Map) harness.runStep('blueGreenDeploy', 'backend')

        assertBuildSucceeded()
        assert cliRun('deploy').BLUEGREEN_SERVICE == 'backend'
        assert report.result == 'success'
        assert report.to == 'green'
    }

    void 'test the map form passes every option to the CLI through the environment'() {
        fakeCli()
        harness.runStep('blueGreenDeploy', [service: 'backend', image: 'reg:5000/maice-back:7', config: 'deploy/prod.yml',
                                            lang: 'ko', monitor: '60s', drainTimeout: '120s',
                                            report: 'deploy-report.json'])

        assertBuildSucceeded()
        Map env = cliRun('deploy')
        assert env.BLUEGREEN_SERVICE == 'backend'
        assert env.BLUEGREEN_IMAGE == 'reg:5000/maice-back:7'
        assert env.BLUEGREEN_CONFIG == 'deploy/prod.yml'
        assert env.BLUEGREEN_LANG == 'ko'
        assert env.BLUEGREEN_MONITOR == '60s'
        assert env.BLUEGREEN_DRAIN_TIMEOUT == '120s'
        assert env.BLUEGREEN_REPORT == "${harness.tmp.path}/deploy-report.json"
        assert harness.archived.keySet() == ['deploy-report.json'] as Set
    }

    void 'test options may follow the positional service'() {
        fakeCli()
        harness.runStep('blueGreenDeploy', [monitor: '60s'], 'backend')

        assertBuildSucceeded()
        assert cliRun('deploy').BLUEGREEN_SERVICE == 'backend'
        assert cliRun('deploy').BLUEGREEN_MONITOR == '60s'
    }

    void 'test by default the CLI applies its own defaults and the report is named after the service'() {
        fakeCli()
        harness.runStep('blueGreenDeploy', 'backend')

        Map env = cliRun('deploy')
        ['BLUEGREEN_IMAGE', 'BLUEGREEN_CONFIG', 'BLUEGREEN_LANG', 'BLUEGREEN_MONITOR'].each { assert !env.containsKey(it) }
        assert env.BLUEGREEN_REPORT == "${harness.tmp.path}/bluegreen-deploy-backend.json"
        assert env.BLUEGREEN_CLI == "${harness.tmp.path}/bluegreen.pyz"
        assert harness.callsOf('lock')*.named == [[resource: 'bluegreen-backend']]
    }

    void 'test a missing service fails the build before any sh runs'() {
        [[[:]] as Object[], [null] as Object[], [[service: '']] as Object[], [] as Object[]].each { Object[] args ->
            freshHarness()
            harness.runStep('blueGreenDeploy', args)

            assertBuildFailedWith('no service given')
            assert harness.callsOf('sh').empty
        }
    }

    void 'test an invalid service fails the build before anything reaches the agent'() {
        ['Backend', '../etc', 'a b', 'evil;rm -rf /', '-backend', 'x' * 42, 'back\nend', 'backend\n'].each { String service ->
            freshHarness()
            harness.runStep('blueGreenDeploy', service)

            assertBuildFailedWith('is not a service name')
            assert harness.callsOf('sh').empty
            assert harness.callsOf('writeFile').empty
        }
    }

    void 'test an unknown option fails the build and names it'() {
        harness.runStep('blueGreenDeploy', [service: 'backend', healthPath: '/health', imag: 'x'])

        assertBuildFailedWith('unknown option(s) healthPath, imag')
        assert harness.callsOf('sh').empty
    }

    void 'test a report file name with a directory is refused'() {
        harness.runStep('blueGreenDeploy', [service: 'backend', report: '../escape.json'])

        assertBuildFailedWith('must be a plain file name')
        assert harness.callsOf('sh').empty
    }

    void 'test a failed deploy fails the build with the reason from the report'() {
        String reason = 'green failed its health check (HTTP 500 on /health/simple); blue still serves'
        fakeCli(status: 1, report: [result: 'failed', exit_code: 1, reason: reason,
                                    description: 'blue \u2192 green failed \u00b7 maice-back:42'])
        harness.runStep('blueGreenDeploy', 'backend')

        assertBuildFailed(reason)
        assert harness.currentBuild.description == 'blue \u2192 green failed \u00b7 maice-back:42'
        assert harness.archived.containsKey('bluegreen-deploy-backend.json')
    }

    void 'test a deploy rolled back by monitoring fails the build with its reason'() {
        fakeCli(status: 5, report: [result: 'monitor_rolled_back', exit_code: 5,
                                    reason: 'errors on green during monitoring; switched back to blue'])
        harness.runStep('blueGreenDeploy', [service: 'backend', monitor: '60s'])

        assertBuildFailed('errors on green during monitoring; switched back to blue')
    }

    void 'test a CLI that dies without a report fails the build with its exit code'() {
        fakeCli(status: 6, report: null)
        harness.runStep('blueGreenDeploy', 'backend')

        assertBuildFailed('bluegreen deploy backend failed with exit code 6 and wrote no report; see the log above')
        assert harness.archived.isEmpty()
        assert harness.currentBuild.description == null
    }

    void 'test the report of an earlier build is never taken for this one'() {
        File stale = new File(harness.tmp, 'bluegreen-deploy-backend.json')
        stale.parentFile.mkdirs()
        stale.text = '{"reason": "an old reason", "description": "old"}'
        fakeCli(status: 1, report: null)
        harness.runStep('blueGreenDeploy', 'backend')

        assertBuildFailedWith('failed with exit code 1 and wrote no report')
        assert harness.currentBuild.description == null
    }

    void 'test the CLI lands on the agent byte for byte from the library resource'() {
        fakeCli()
        harness.runStep('blueGreenDeploy', 'backend')

        File delivered = new File(harness.tmp, 'bluegreen.pyz')
        assert delivered.bytes == new File(harness.resources, 'bluegreen/bluegreen.pyz').bytes
        assert harness.callsOf('libraryResource')*.named == [[resource: 'bluegreen/bluegreen.pyz', encoding: 'Base64']]
        assert harness.callsOf('writeFile')*.named*.encoding == ['Base64']
        assert !delivered.path.startsWith(harness.workspace.path + '/')
    }

    void 'test a library without the CLI bundle fails clearly'() {
        harness.resources = new File(harness.root, 'empty-resources')
        fakeCli()
        harness.runStep('blueGreenDeploy', 'backend')

        assertBuildFailedWith('No such library resource bluegreen/bluegreen.pyz')
        assert harness.callsOf('sh').empty
    }

    void 'test credentials are bound as the credentials command says'() {
        fakeCli()
        harness.runStep('blueGreenDeploy', 'backend')

        assertBuildSucceeded()
        Map asked = cliRun('credentials')
        assert asked.BLUEGREEN_SERVICE == 'backend'
        assert !asked.containsKey('DATABASE_URL')
        List bindings = (List) harness.callsOf('withCredentials')[-1].args[0]
        assert bindings == [
            [binding: 'string', credentialsId: 'maice-database-url', variable: 'DATABASE_URL'],
            [binding: 'usernamePassword', credentialsId: 'maice-admin', usernameVariable: 'ADMIN_USERNAME',
             passwordVariable: 'ADMIN_PASSWORD'],
        ]
        Map env = cliRun('deploy')
        assert env.DATABASE_URL == 'postgresql://maice:db-s3cret@db/maice'
        assert env.ADMIN_USERNAME == 'admin-user'
        assert env.ADMIN_PASSWORD == 'admin-pa55word'
    }

    void 'test an optional credential that exists is bound'() {
        harness.addStringCredential('maice-redis-url', 'redis://:redis-s3cret@redis:6379/0')
        fakeCli()
        harness.runStep('blueGreenDeploy', 'backend')

        assertBuildSucceeded()
        assert cliRun('deploy').REDIS_URL == 'redis://:redis-s3cret@redis:6379/0'
    }

    void 'test an optional credential that does not exist is left out with a message'() {
        fakeCli()
        harness.runStep('blueGreenDeploy', 'backend')

        assertBuildSucceeded()
        assert !cliRun('deploy').containsKey('REDIS_URL')
        assert harness.log.any { it.contains("optional credential 'maice-redis-url' does not exist") && it.contains('REDIS_URL') }
    }

    void 'test a missing required credential fails the build before the deploy'() {
        harness.credentials.remove('maice-database-url')
        fakeCli()
        harness.runStep('blueGreenDeploy', 'backend')

        assertBuildFailed("Could not find credentials entry with ID 'maice-database-url'")
        assert cliRuns*.command == ['credentials']
    }

    void 'test an optional credential of the wrong type fails the build instead of being skipped'() {
        harness.addUsernamePassword('maice-redis-url', 'redis', 'redis-pass')
        fakeCli()
        harness.runStep('blueGreenDeploy', 'backend')

        assertBuildFailedWith("Credentials 'maice-redis-url' is of type")
        assert cliRuns*.command == ['credentials']
    }

    void 'test a binding type the library does not know fails the build'() {
        fakeCli(bindings: [[type: 'sshUserPrivateKey', credentialsId: 'deploy-key', keyFileVariable: 'KEY', optional: false]])
        harness.runStep('blueGreenDeploy', 'backend')

        assertBuildFailedWith("a 'sshUserPrivateKey' credential binding")
    }

    void 'test a service without credentials deploys with none bound'() {
        fakeCli(bindings: [])
        harness.runStep('blueGreenDeploy', 'backend')

        assertBuildSucceeded()
        assert harness.callsOf('withCredentials')*.args*.getAt(0) == [[]]
    }

    void 'test the build description comes from the report'() {
        fakeCli()
        harness.runStep('blueGreenDeploy', 'backend')

        assert harness.currentBuild.description == 'blue \u2192 green \u00b7 maice-back:42'
    }

    void 'test the report is archived from the temp dir and the checkout stays clean'() {
        fakeCli()
        Map report = (Map) harness.runStep('blueGreenDeploy', 'backend')

        assert harness.callsOf('dir')*.args*.getAt(0) == [harness.tmp.path]
        assert harness.callsOf('archiveArtifacts')*.named == [[artifacts: 'bluegreen-deploy-backend.json']]
        assert new groovy.json.JsonSlurper().parseText(harness.archived['bluegreen-deploy-backend.json']) == report
        assert harness.workspace.list().toList().empty
        assert harness.callsOf('readJSON').every { it.named.returnPojo == true }
    }

    void 'test deploys of a service run inside its lock'() {
        List<String> locked = []
        harness.registerStep('lock') { Map options, Closure body ->
            locked << options.resource
            body()
            locked << 'released'
        }
        fakeCli()
        harness.onSh(~/deploy$/) { String script, Map env ->
            assert locked == ['bluegreen-backend']
            new File(env.BLUEGREEN_REPORT).text = '{"result": "success"}'
            0
        }
        harness.runStep('blueGreenDeploy', 'backend')

        assertBuildSucceeded()
        assert locked == ['bluegreen-backend', 'released']
    }

    void 'test without Lockable Resources the deploy runs once, serialized by the CLI alone'() {
        harness.withoutPlugin('lock')
        fakeCli()
        harness.runStep('blueGreenDeploy', 'backend')

        assertBuildSucceeded()
        assert cliRuns*.command == ['credentials', 'deploy']
        assert harness.log.any { it.contains('Lockable Resources plugin is not installed') }
    }

    void 'test a missing step inside the lock is not mistaken for a missing Lockable Resources'() {
        harness.withoutPlugin('withCredentials')
        fakeCli(bindings: [MAICE_BINDINGS[0]])
        harness.runStep('blueGreenDeploy', 'backend')

        assert harness.currentBuild.result == 'FAILURE'
        assert harness.failure instanceof NoSuchMethodError
        assert harness.callsOf('withCredentials').size() == 1
        assert !harness.log.any { it.contains('Lockable Resources') }
        assert !cliRuns*.command.contains('deploy')
    }

    void 'test useLock false runs without the lock step'() {
        fakeCli()
        harness.runStep('blueGreenDeploy', [service: 'backend', useLock: false])

        assertBuildSucceeded()
        assert harness.callsOf('lock').empty
    }

    void 'test no sh script carries a secret or a user value: they travel in the environment'() {
        Map hostile = [image: 'evil;rm -rf /', config: '$(id).yml', lang: '`reboot`', monitor: '60s; curl x | sh',
                       report: 'r.json']
        harness.addStringCredential('maice-redis-url', 'redis://:redis-s3cret@redis:6379/0')
        fakeCli()
        harness.runStep('blueGreenDeploy', [service: 'backend'] + hostile)

        assertBuildSucceeded()
        assert harness.boundSecrets.containsAll(['postgresql://maice:db-s3cret@db/maice', 'admin-pa55word'])
        assertScriptsCarryNoValues([CREDENTIALS_SCRIPT, DEPLOY_SCRIPT], hostile.values() + ['backend'])
        Map env = cliRun('deploy')
        assert env.BLUEGREEN_IMAGE == 'evil;rm -rf /'
        assert env.BLUEGREEN_CONFIG == '$(id).yml'
        assert env.BLUEGREEN_LANG == '`reboot`'
        assert env.BLUEGREEN_MONITOR == '60s; curl x | sh'
    }
}
