/** blueGreenOptions: the one opening of both public steps (call forms, defaults, unknown options). */
class BlueGreenOptionsTest extends HarnessTestCase {

    void 'test both public steps open through blueGreenOptions with their own defaults'() {
        fakeCli()
        harness.runStep('blueGreenDeploy', 'backend')
        harness.runStep('blueGreenRollback', [reason: 'slow'], 'backend')

        List<Map> opened = harness.callsOf('blueGreenOptions')*.named
        assert opened*.step == ['blueGreenDeploy', 'blueGreenRollback']
        assert opened*.given == [['backend', null], [[reason: 'slow'], 'backend']]
        assert opened[0].defaultConfig.containsKey('image') && !opened[1].defaultConfig.containsKey('image')
    }

    void 'test a service after the options wins over a service among them'() {
        fakeCli()
        harness.runStep('blueGreenDeploy', [service: 'frontend', monitor: '60s'], 'backend')

        assertBuildSucceeded()
        assert cliRun('deploy').BLUEGREEN_SERVICE == 'backend'
    }

    void 'test a GString service is taken as its text'() {
        fakeCli()
        String name = 'back'
        harness.runStep('blueGreenRollback', [reason: 'x'], "${name}end")

        assertBuildSucceeded()
        assert cliRun('rollback').BLUEGREEN_SERVICE == 'backend'
    }

    void 'test two positional arguments fail the build saying how to call the step'() {
        ['blueGreenDeploy', 'blueGreenRollback'].each { String step ->
            freshHarness()
            harness.runStep(step, 'backend', 'frontend')

            assertBuildFailed("${step}: name the service once, then options by name, e.g. " +
                "${step}('backend', config: 'bluegreen.yml')")
            assert harness.callsOf('sh').empty
        }
    }

    void 'test a service after the options that is not a name fails the build'() {
        harness.runStep('blueGreenDeploy', [monitor: '60s'], [service: 'backend'])

        assertBuildFailed("blueGreenDeploy: the service must be a name such as 'backend'")
        assert harness.callsOf('sh').empty
    }

    void 'test an unknown option is named with the options the step knows'() {
        harness.runStep('blueGreenRollback', [service: 'backend', monitor: '60s'])

        assertBuildFailed('blueGreenRollback: unknown option(s) monitor; the options are ' +
            'service, reason, config, lang, report, useLock, label, runner, runnerImage')
    }
}
