/** One recorded step call: its name, its arguments as given, and the environment it ran in. */
class StepCall {
    final String name
    final List args
    final Map<String, String> env

    StepCall(String name, List args, Map<String, String> env) {
        this.name = name
        this.args = args
        this.env = env
    }

    /** The named arguments (the Map a step got first), or [:] */
    Map getNamed() {
        return (args && args[0] instanceof Map) ? (Map) args[0] : [:]
    }

    @Override
    String toString() {
        return "${name}(${args.findAll { !(it instanceof Closure) }.join(', ')})"
    }
}
