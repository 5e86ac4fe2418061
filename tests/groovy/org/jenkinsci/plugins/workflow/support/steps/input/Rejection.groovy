package org.jenkinsci.plugins.workflow.support.steps.input

import hudson.model.User
import jenkins.model.CauseOfInterruption
import org.jenkinsci.plugins.scriptsecurity.sandbox.RejectedAccessException

/**
 * Stands for pipeline-input-step's Rejection: someone pressed Abort on an `input`; user is null when not known.
 * `sandboxed`: as in a library loaded untrusted, getUser is rejected by the Groovy sandbox.
 */
final class Rejection extends CauseOfInterruption {
    static boolean sandboxed = false

    private final User user

    Rejection(User user) {
        this.user = user
    }

    User getUser() {
        if (sandboxed) {
            throw new RejectedAccessException('method org.jenkinsci.plugins.workflow.support.steps.input.Rejection getUser')
        }
        return user
    }

    @Override
    String getShortDescription() {
        return user == null ? 'Rejected' : "Rejected by ${user.displayName}"
    }
}
