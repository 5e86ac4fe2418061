package org.jenkinsci.plugins.workflow.steps

import jenkins.model.CauseOfInterruption
import org.jenkinsci.plugins.scriptsecurity.sandbox.RejectedAccessException

/**
 * Stands for workflow-step-api's FlowInterruptedException: what `input` throws when rejected, what `timeout` throws
 * into its body when it expires, and what a step gets when the build is aborted. The build ends with `result`
 * (a hudson.model.Result in Jenkins; its name here), not FAILURE. `actualInterruption` (true unless set): false marks
 * an interruption that is not the build being stopped — TimeoutStepExecution sets it on its own ExceededTimeout as
 * it leaves the timeout step — and RetryStep / CatchErrorStep read it.
 * `sandboxed`: as in a library loaded untrusted, getCauses is rejected by the Groovy sandbox.
 */
class FlowInterruptedException extends InterruptedException {
    static boolean sandboxed = false

    final String result
    private final List<CauseOfInterruption> causes
    boolean actualInterruption = true

    FlowInterruptedException(String result, CauseOfInterruption... causes) {
        this.result = result
        this.causes = causes as List
    }

    List<CauseOfInterruption> getCauses() {
        if (sandboxed) {
            throw new RejectedAccessException('method org.jenkinsci.plugins.workflow.steps.FlowInterruptedException getCauses')
        }
        return causes
    }

    /** The causes whatever the sandbox says: for the harness and the tests' assertions. */
    List<CauseOfInterruption> getCausesUnchecked() {
        return causes
    }

    @Override
    String getMessage() {
        return causes*.shortDescription.join('; ')
    }
}
