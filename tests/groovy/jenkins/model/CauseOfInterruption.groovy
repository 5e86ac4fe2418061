package jenkins.model

import hudson.model.User

/** Stands for jenkins.model.CauseOfInterruption: why a build or a step was interrupted (one of a FlowInterruptedException's causes). */
abstract class CauseOfInterruption implements Serializable {
    abstract String getShortDescription()

    /** Someone pressed the build's Abort button (or asked the API to stop it). */
    static class UserInterruption extends CauseOfInterruption {
        private final String userId

        UserInterruption(String userId) {
            this.userId = userId
        }

        String getUserId() {
            return userId
        }

        User getUser() {
            return new User(userId)
        }

        @Override
        String getShortDescription() {
            return "Aborted by ${userId}"
        }
    }
}
