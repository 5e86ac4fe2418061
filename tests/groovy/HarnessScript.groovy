/**
 * Base class of every script the harness loads (vars/*.groovy, Jenkinsfiles). Any method the script does not
 * define is a pipeline step: it goes to the harness, which runs it if registered and fails the test otherwise.
 * Unknown properties resolve like in Jenkins: environment variables, then failure.
 */
abstract class HarnessScript extends Script {
    Object methodMissing(String name, Object args) {
        return harness().invokeStep(name, args as Object[])
    }

    Object propertyMissing(String name) {
        PipelineHarness harness = harness()
        String value = harness.env.lookup(name)
        if (value != null) {
            return value
        }
        throw new MissingPropertyException(name, getClass())
    }

    PipelineHarness harness() {
        return (PipelineHarness) getBinding().getVariable('__harness')
    }
}
