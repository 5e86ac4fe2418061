package org.jenkinsci.plugins.scriptsecurity.sandbox

/**
 * Stands for script-security's RejectedAccessException: what the Groovy sandbox throws when a script (a library
 * loaded untrusted, say) calls a method nobody approved, e.g. "method org.jenkinsci.plugins.workflow.steps.
 * FlowInterruptedException getCauses". A SecurityException: a script's catch (Exception) can catch it.
 */
class RejectedAccessException extends SecurityException {
    final String signature

    RejectedAccessException(String signature) {
        super("Scripts not permitted to use ${signature}")
        this.signature = signature
    }
}
