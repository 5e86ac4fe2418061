/*
 * blueGreenRollback: switch one service back to the color that served before its last deploy. That color must
 * still run and be healthy; otherwise the CLI changes nothing and this step fails the build saying why.
 * Every option, its default and examples: blueGreenRollback.txt.
 */

// blueGreenRollback('backend'), blueGreenRollback('backend', reason: 'checkout errors since 123') or
// blueGreenRollback(service: 'backend', …): blueGreenOptions tells the forms apart, merges defaultConfig with what
// was given and refuses unknown options.
Map call(Object serviceOrOptions = [:], Object service = null) {
    Map defaultConfig = [
        // The service to roll back, as named under `services:` in bluegreen.yml. Required.
        service: null,
        // Why, in a line: kept in the service's history and the report; null or empty = none given.
        reason: null,
        // Path of bluegreen.yml, relative to the workspace; null = $BLUEGREEN_CONFIG when the agent or job sets
        // it, else the CLI's default ./bluegreen.yml.
        config: null,
        // Language of the CLI's messages and of the report's reason: 'en' or 'ko'; null = the agent's locale.
        lang: null,
        // File name of the JSON report (written in the build's temp dir, then archived);
        // null = bluegreen-rollback-<service>.json.
        report: null,
        // Serialize with deploys of the service through Lockable Resources' lock('bluegreen-<service>') when installed.
        useLock: true,
        // A Jenkins label expression ('docker-host'): the step takes a node of that label itself; null = run where
        // called (the Rollback job's pipeline chooses its agent from AGENT_LABEL).
        label: null,
        // 'host': the agent's python3 runs the CLI; 'docker': a throwaway container of runnerImage does (agents
        // without python3); null = BLUEGREEN_RUNNER set on the node, else 'host'.
        runner: null,
        // With 'docker': an image with python3 >= 3.10; null = BLUEGREEN_RUNNER_IMAGE set on the node.
        runnerImage: null,
    ]
    Map options = blueGreenOptions(step: 'blueGreenRollback', defaultConfig: defaultConfig,
        given: [serviceOrOptions, service])
    return blueGreenCli([step: 'blueGreenRollback', command: 'rollback', report: options.report,
                         useLock: options.useLock, cli: options.subMap(['service', 'config', 'lang', 'reason'])] +
        options.subMap(['label', 'runner', 'runnerImage']))
}
