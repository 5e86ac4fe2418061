/** What the harness throws where Jenkins throws hudson.AbortException (error, a failed sh): a build failure. */
class AbortException extends IOException {
    AbortException(String message) {
        super(message)
    }
}
