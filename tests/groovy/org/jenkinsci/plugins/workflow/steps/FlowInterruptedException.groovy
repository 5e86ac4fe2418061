package org.jenkinsci.plugins.workflow.steps

import jenkins.model.CauseOfInterruption

/**
 * Stands for workflow-step-api's FlowInterruptedException: what `input` throws when rejected, what `timeout` throws
 * into its body when it expires, and what a step gets when the build is aborted. The build ends with `result`
 * (a hudson.model.Result in Jenkins; its name here), not FAILURE.
 */
class FlowInterruptedException extends InterruptedException {
    final String result
    final List<CauseOfInterruption> causes

    FlowInterruptedException(String result, CauseOfInterruption... causes) {
        this.result = result
        this.causes = causes as List
    }

    @Override
    String getMessage() {
        return causes*.shortDescription.join('; ')
    }
}
