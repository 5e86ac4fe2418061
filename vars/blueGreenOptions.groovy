/*
 * blueGreenOptions: how every public bluegreen step opens, written once. It accepts the forms a Jenkinsfile uses
 * to call a step, merges the step's defaultConfig with what was given and refuses an option the step does not know.
 * Internal: blueGreenDeploy and blueGreenRollback call it; blueGreenOptions.txt says why it is a step of its own.
 */

/**
 * Returns the step's defaultConfig merged with the options given.
 * args.step: the calling step's name, for messages; args.defaultConfig: every option of the step with its default;
 * args.given: the step's two call arguments as it received them, [serviceOrOptions, service]:
 *   ['backend', null]                      from step('backend')
 *   [[service: 'backend', …], null]        from step(service: 'backend', …)
 *   [[monitor: '60s'], 'backend']          from step('backend', monitor: '60s') (Groovy passes named options first)
 */
Map call(Map args) {
    String step = args.step
    Map defaultConfig = args.defaultConfig
    Object serviceOrOptions = args.given[0]
    Object service = args.given[1]

    if (service != null && !(serviceOrOptions instanceof Map)) {
        error("${step}: name the service once, then options by name, e.g. ${step}('backend', config: 'bluegreen.yml')")
    }
    if (service != null && !(service instanceof CharSequence)) {
        error("${step}: the service must be a name such as 'backend'")
    }
    Map given = serviceOrOptions instanceof Map ? (Map) serviceOrOptions : [service: serviceOrOptions]
    if (service != null) {
        given += [service: service.toString()]
    }
    Set unknown = given.keySet() - defaultConfig.keySet()
    if (unknown) {
        error("${step}: unknown option(s) ${unknown.sort().join(', ')}; the options are " +
            defaultConfig.keySet().join(', '))
    }
    return defaultConfig + given
}
