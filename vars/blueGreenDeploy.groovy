/*
 * blueGreenDeploy: deploy a new image of one service to its idle color, then move nginx to it with zero downtime.
 * If anything fails, the bluegreen CLI switches back by itself and this step fails the build with its reason.
 * With promotion: 'manual' a person approves the staged color before the switch (blueGreenPromotion).
 * Every option, its default and examples: blueGreenDeploy.txt.
 */

// blueGreenDeploy('backend'), blueGreenDeploy('backend', monitor: '60s') or blueGreenDeploy(service: 'backend', …):
// blueGreenOptions tells the forms apart, merges defaultConfig with what was given and refuses unknown options.
Map call(Object serviceOrOptions = [:], Object service = null) {
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
        // How long requests still in flight on the color being replaced may take ('120s' for long LLM answers),
        // then they are cut and counted; null = the service's drain_timeout in bluegreen.yml (30s by default).
        drainTimeout: null,
        // File name of the JSON report (written in the build's temp dir, then archived);
        // null = bluegreen-deploy-<service>.json.
        report: null,
        // Serialize deploys of the service with Lockable Resources' lock('bluegreen-<service>') when installed.
        useLock: true,
        // 'automatic': switch as soon as the new color is healthy. 'manual': stage it, ask with `input` (showing the
        // preview address), switch on approval, remove it on rejection or timeout (the build ends ABORTED).
        promotion: 'automatic',
        // With 'manual': how long the input waits ('90s', '30m', '2h'), then counts as rejected; null = no limit.
        promotionTimeout: null,
        // With 'manual': who may promote (user ids or groups, comma-separated); null = anyone who may build the job.
        submitter: null,
        // A Jenkins label expression ('docker-host'): each CLI command takes a node of that label for its own run,
        // so a stage with `agent none` holds no executor while a person decides; null = run where called.
        label: null,
        // 'host': the agent's python3 runs the CLI; 'docker': a throwaway container of runnerImage does (agents
        // without python3); null = BLUEGREEN_RUNNER set on the node, else 'host'.
        runner: null,
        // With 'docker': an image with python3 >= 3.10; null = BLUEGREEN_RUNNER_IMAGE set on the node.
        runnerImage: null,
    ]
    Map options = blueGreenOptions(step: 'blueGreenDeploy', defaultConfig: defaultConfig,
        given: [serviceOrOptions, service])
    if (!(options.promotion in ['automatic', 'manual'])) {
        error("blueGreenDeploy: promotion must be 'automatic' or 'manual', not '${options.promotion}'")
    }
    if (options.promotion == 'automatic' && (options.promotionTimeout != null || options.submitter != null)) {
        error("blueGreenDeploy: promotionTimeout and submitter apply to promotion: 'manual' only")
    }
    Map deploy = [step: 'blueGreenDeploy', report: options.report, useLock: options.useLock,
                  cli: options.subMap(['service', 'config', 'lang', 'image', 'monitor', 'drainTimeout'])] +
        options.subMap(['label', 'runner', 'runnerImage'])
    if (options.promotion == 'manual') {
        return blueGreenPromotion(deploy + options.subMap(['promotionTimeout', 'submitter']))
    }
    return blueGreenCli(deploy + [command: 'deploy'])
}
