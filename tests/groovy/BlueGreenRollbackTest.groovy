/** blueGreenRollback: same delivery, credentials, lock and reporting as deploy; runs `rollback`. */
class BlueGreenRollbackTest extends HarnessTestCase {

    void 'test the positional form rolls back the named service'() {
        fakeCli()
        Map report = (Map) harness.runStep('blueGreenRollback', 'backend')

        assertBuildSucceeded()
        assert cliRuns*.command == ['credentials', 'rollback']
        Map env = cliRun('rollback')
        assert env.BLUEGREEN_SERVICE == 'backend'
        assert env.BLUEGREEN_REPORT == "${harness.tmp.path}/bluegreen-rollback-backend.json"
        assert !env.containsKey('BLUEGREEN_REASON')
        assert report.action == 'rollback'
        assert harness.currentBuild.description == 'green \u2192 blue (rollback)'
        assert harness.archived.containsKey('bluegreen-rollback-backend.json')
    }

    void 'test the map form passes service, reason, config and lang through the environment'() {
        fakeCli()
        harness.runStep('blueGreenRollback', [service: 'backend', reason: 'checkout errors since #123', lang: 'ko',
                                              config: 'bluegreen.staging.yml'])

        assertBuildSucceeded()
        Map env = cliRun('rollback')
        assert env.BLUEGREEN_SERVICE == 'backend'
        assert env.BLUEGREEN_REASON == 'checkout errors since #123'
        assert env.BLUEGREEN_LANG == 'ko'
        assert env.BLUEGREEN_CONFIG == 'bluegreen.staging.yml'
    }

    void 'test options may follow the positional service'() {
        fakeCli()
        harness.runStep('blueGreenRollback', [reason: 'slow responses'], 'backend')

        assert cliRun('rollback').BLUEGREEN_REASON == 'slow responses'
    }

    void 'test an empty reason is left to the CLI'() {
        fakeCli()
        harness.runStep('blueGreenRollback', [service: 'backend', reason: ''])

        assertBuildSucceeded()
        assert !cliRun('rollback').containsKey('BLUEGREEN_REASON')
    }

    void 'test a missing service fails the build before any sh runs'() {
        [[[:]] as Object[], [null] as Object[], [[service: null, reason: 'x']] as Object[]].each { Object[] args ->
            freshHarness()
            harness.runStep('blueGreenRollback', args)

            assertBuildFailedWith('blueGreenRollback: no service given')
            assert harness.callsOf('sh').empty
        }
    }

    void 'test an invalid service fails the build before any sh runs'() {
        harness.runStep('blueGreenRollback', 'backend; reboot')

        assertBuildFailedWith('is not a service name')
        assert harness.callsOf('sh').empty
    }

    void 'test deploy options are refused'() {
        harness.runStep('blueGreenRollback', [service: 'backend', image: 'x:1'])

        assertBuildFailedWith('unknown option(s) image')
    }

    void 'test an unavailable rollback target fails the build with the reason from the report'() {
        String reason = 'maice-back-blue is not running: nothing to roll back to; green keeps serving'
        fakeCli(status: 1, report: [result: 'unavailable', exit_code: 1, reason: reason, description: null])
        harness.runStep('blueGreenRollback', 'backend')

        assertBuildFailed(reason)
        assert harness.currentBuild.description == null
    }

    void 'test a rollback takes the same lock as deploys of the service'() {
        fakeCli()
        harness.runStep('blueGreenRollback', 'backend')

        assert harness.callsOf('lock')*.named == [[resource: 'bluegreen-backend']]
    }

    void 'test no sh script carries a secret or the reason: they travel in the environment'() {
        String reason = "'; rm -rf / #\$(reboot)"
        fakeCli()
        harness.runStep('blueGreenRollback', [service: 'backend', reason: reason])

        assertBuildSucceeded()
        assertScriptsCarryNoValues([CREDENTIALS_SCRIPT, ROLLBACK_SCRIPT], [reason])
        assert cliRun('rollback').BLUEGREEN_REASON == reason
        assert cliRun('rollback').DATABASE_URL == 'postgresql://maice:db-s3cret@db/maice'
    }
}
