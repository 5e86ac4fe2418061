package org.jenkinsci.plugins.workflow.support.steps.input

import hudson.model.User
import jenkins.model.CauseOfInterruption

/** Stands for pipeline-input-step's Rejection: someone pressed Abort on an `input`; user is null when not known. */
final class Rejection extends CauseOfInterruption {
    final User user

    Rejection(User user) {
        this.user = user
    }

    @Override
    String getShortDescription() {
        return user == null ? 'Rejected' : "Rejected by ${user.displayName}"
    }
}
