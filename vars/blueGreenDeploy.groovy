/*
 * blueGreenDeploy: deploy a new image of one service to its idle color, then move nginx to it with zero downtime.
 * If anything fails, the bluegreen CLI switches back by itself and this step fails the build with its reason.
 * Every option, its default and examples: blueGreenDeploy.txt.
 */

// blueGreenDeploy('backend'). Object rather than String: blueGreenDeploy(null) then reaches the 'no service'
// guard instead of Groovy's ambiguous-overload error.
Map call(Object service) {
    return call([service: service])
}

// blueGreenDeploy('backend', monitor: '60s'): options after the service.
Map call(Map userConfig, String service) {
    return call(userConfig + [service: service])
}

Map call(Map userConfig = [:]) {
    Map defaultConfig = [
        // The service to deploy, as named under `services:` in bluegreen.yml. Required.
        service: null,
        // The image to run; null = the service's `image` in bluegreen.yml (variables expanded by the CLI).
        image: null,
        // Path of bluegreen.yml, relative to the workspace; null = $BLUEGREEN_CONFIG when the agent or job sets
        // it, else the CLI's default ./bluegreen.yml.
        config: null,
        // Language of the CLI's messages and of the report's reason: 'en' or 'ko'; null = the agent's locale.
        lang: null,
        // Watch the new color this long after the switch (e.g. '60s') and switch back if it fails; null = don't.
        monitor: null,
        // File name of the JSON report (written in the build's temp dir, then archived);
        // null = bluegreen-deploy-<service>.json.
        report: null,
        // Serialize deploys of the service with Lockable Resources' lock('bluegreen-<service>') when installed.
        useLock: true,
    ]
    Map given = userConfig ?: [:]
    Set unknown = given.keySet() - defaultConfig.keySet()
    if (unknown) {
        error("blueGreenDeploy: unknown option(s) ${unknown.sort().join(', ')}; the options are " +
            defaultConfig.keySet().join(', '))
    }
    Map options = defaultConfig + given
    return blueGreenCli(step: 'blueGreenDeploy', command: 'deploy', report: options.report, useLock: options.useLock,
        cli: options.subMap(['service', 'config', 'lang', 'image', 'monitor']))
}
