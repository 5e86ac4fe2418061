package org.jenkinsci.plugins.workflow.steps

import jenkins.model.CauseOfInterruption

/** Stands for workflow-basic-steps' TimeoutStepExecution, for its cause ExceededTimeout: the `timeout` step expired. */
class TimeoutStepExecution {
    static final class ExceededTimeout extends CauseOfInterruption {
        @Override
        String getShortDescription() {
            return 'Timeout has been exceeded'
        }
    }
}
