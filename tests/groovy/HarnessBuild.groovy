/** `currentBuild`: the fields pipelines read and write. */
class HarnessBuild {
    String result
    String description
    String displayName
    int number = 42
    final List<String> descriptions = []

    void setDescription(String text) {
        description = text
        descriptions << text
    }

    String getCurrentResult() {
        return result ?: 'SUCCESS'
    }
}
