/**
 * `env`: `env.X = 'v'` sets a build-wide variable; withEnv and withCredentials push overlays that end with their
 * body. Reads see the innermost overlay first, as sh does.
 */
class HarnessEnv {
    private final Map<String, String> global = [:]
    private final List<Map<String, String>> overlays = []

    String lookup(String name) {
        for (int i = overlays.size() - 1; i >= 0; i--) {
            if (overlays[i].containsKey(name)) {
                return overlays[i][name]
            }
        }
        return global[name]
    }

    void put(String name, Object value) {
        global[name] = value == null ? null : value.toString()
    }

    Map<String, String> snapshot() {
        Map<String, String> all = new LinkedHashMap<String, String>(global)
        overlays.each { all.putAll(it) }
        return all
    }

    Object withOverlay(Map<String, String> values, Closure body) {
        overlays << new LinkedHashMap<String, String>(values)
        try {
            return body.call()
        } finally {
            overlays.remove(overlays.size() - 1)
        }
    }

    @Override
    Object getProperty(String name) {
        return lookup(name)
    }

    @Override
    void setProperty(String name, Object value) {
        put(name, value)
    }

    Object getAt(String name) {
        return lookup(name)
    }

    void putAt(String name, Object value) {
        put(name, value)
    }
}
