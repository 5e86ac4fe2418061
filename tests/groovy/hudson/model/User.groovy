package hudson.model

/** Stands for hudson.model.User: the id Jenkins knows a user by (what `submitter` lists) and the name it shows. */
class User {
    final String id
    final String fullName

    User(String id, String fullName = null) {
        this.id = id
        this.fullName = fullName ?: id
    }

    String getDisplayName() {
        return fullName
    }
}
