/** Stands for credentials-binding's CredentialNotFoundException (an IOException), with the plugin's messages. */
class CredentialNotFoundException extends IOException {
    CredentialNotFoundException(String message) {
        super(message)
    }
}
