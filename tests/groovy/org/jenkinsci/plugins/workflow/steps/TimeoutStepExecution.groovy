package org.jenkinsci.plugins.workflow.steps

import jenkins.model.CauseOfInterruption

/**
 * Stands for workflow-basic-steps' TimeoutStepExecution, for its cause ExceededTimeout: the `timeout` step expired.
 * nodeId names the timeout step that expired (its flow node), as in Jenkins.
 */
class TimeoutStepExecution {
    static final class ExceededTimeout extends CauseOfInterruption {
        final String nodeId

        ExceededTimeout(String nodeId = null) {
            this.nodeId = nodeId
        }

        @Override
        String getShortDescription() {
            return 'Timeout has been exceeded'
        }
    }
}
