/**
 * A step the code under test called but the test never registered. An Error, not an Exception, so no
 * catch (Exception) or catch (IOException) in the code under test can hide it: the test fails.
 */
class UnregisteredStepError extends AssertionError {
    UnregisteredStepError(String message) {
        super((Object) message)
    }
}
