import groovy.io.FileType
import groovy.json.JsonSlurper
import hudson.model.User
import java.nio.file.Files
import java.nio.file.NoSuchFileException
import java.util.concurrent.TimeUnit
import java.util.regex.Pattern
import jenkins.model.CauseOfInterruption
import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.control.customizers.ImportCustomizer
import org.jenkinsci.plugins.scriptsecurity.sandbox.RejectedAccessException
import org.jenkinsci.plugins.workflow.steps.FlowInterruptedException
import org.jenkinsci.plugins.workflow.steps.TimeoutStepExecution
import org.jenkinsci.plugins.workflow.support.steps.input.Rejection

/**
 * A pipeline stand-in in the style of JenkinsPipelineUnit, for Groovy 2.4 (the Groovy Jenkins core embeds).
 *
 * - Every step is registered (a closure); calling an unregistered one fails the test ("unregistered step X").
 * - Every call is recorded with its arguments and the environment it saw (`calls`, `callsOf('sh')`).
 * - `sh` answers from rules the test scripts with `onSh` (stdout, exit status, side effects); an unscripted
 *   `sh` fails the test, and so does a script that is a GString (values belong in the environment).
 * - `libraryResource` reads the library's real resources/ (Base64 when asked); `writeFile`/`readFile`/
 *   `fileExists`/`dir`/`pwd` work on a temporary workspace laid out like an agent's (<ws> and <ws>@tmp).
 * - `withEnv`/`withCredentials` keep an environment that `sh` rules see; withCredentials binds from `credentials`
 *   and throws the plugin's own error for a missing id. `error` throws AbortException and marks FAILURE.
 * - `input` answers from `answerInput` (approve, reject, the build's Abort button, nobody, which only an
 *   enclosing `timeout` ends, or an exception of the test's), throwing FlowInterruptedException with Jenkins'
 *   causes; an unscripted input fails the test. A FlowInterruptedException that ends the build gives its result
 *   (ABORTED), as in Jenkins. `timeout` marks its own expiry not an actual interruption as it leaves (Jenkins'
 *   TimeoutStepExecution.Callback.onFailure); `retry` and `catchError` treat interruptions as RetryStepExecution
 *   and CatchErrorStep do.
 * - `node(label) {}` takes an agent (NODE_NAME, NODE_LABELS, WORKSPACE in env): the steps that need a workspace
 *   (sh, writeFile, readFile, fileExists, dir, pwd, archiveArtifacts) fail the test outside one, as Jenkins fails
 *   them ("Required context class hudson.FilePath is missing"). `runStep` calls a step inside a node, like a
 *   Jenkinsfile stage with an agent; `runStepWithoutAgent` outside any, like a stage with `agent none`.
 * - `untrustedLibrary = true`: the Groovy sandbox rejects FlowInterruptedException.getCauses and Rejection.getUser
 *   (RejectedAccessException), as for a library loaded untrusted.
 * - The library's vars/*.groovy are steps too, run for real; `pipeline {}` runs through DeclarativePipeline.
 */
class PipelineHarness {
    final File repo
    File resources
    final File root
    final File workspace
    final HarnessEnv env = new HarnessEnv()
    final HarnessBuild currentBuild = new HarnessBuild()
    final Map params = [:]
    final Map givenParams = [:]
    final List<StepCall> calls = []
    final List<String> log = []
    final List<String> unregistered = []
    final Set<String> missingSteps = [] as Set
    /** credential id → secret text, or [username: …, password: …] */
    final Map<String, Object> credentials = [:]
    /** every value withCredentials ever bound: none may appear in a script string or the log */
    final Set<String> boundSecrets = [] as Set
    /** artifact path → its text when archived */
    final Map<String, String> archived = [:]
    final List<String> libraries = []
    /** the answers `input` gives, in order (see answerInput) */
    final List<Map> inputAnswers = []
    /** the name of the agent every `node` gets */
    String agentName = 'docker-host-1'
    int nodeDepth = 0
    Throwable failure
    DeclarativePipeline pipeline

    private final Map<String, Closure> steps = [:]
    private final List<Map> shRules = []
    private final List<File> cwd = []
    private final List<Map> activeTimeouts = []
    private int timeoutsStarted = 0
    private final Binding binding = new Binding()
    private final GroovyShell shell
    private final Map<String, Script> loadedVars = [:]

    PipelineHarness(File repo) {
        this.repo = repo.canonicalFile
        assert new File(this.repo, 'vars').directory: "no vars/ in ${this.repo}: run the tests from the repository root"
        resources = new File(this.repo, 'resources')
        root = Files.createTempDirectory('bluegreen-harness').toFile()
        workspace = new File(root, 'workspace/app')
        workspace.mkdirs()
        cwd << workspace
        env.put('WORKSPACE', workspace.path)
        env.put('BUILD_NUMBER', '42')
        env.put('JOB_NAME', 'app')
        binding.setVariable('__harness', this)
        binding.setVariable('env', env)
        binding.setVariable('params', params)
        binding.setVariable('currentBuild', currentBuild)
        CompilerConfiguration compiler = new CompilerConfiguration()
        compiler.scriptBaseClass = HarnessScript.name
        ImportCustomizer imports = new ImportCustomizer()
        imports.addImport('Library', HarnessLibrary.name)
        imports.addImport('NonCPS', HarnessNonCPS.name)
        compiler.addCompilationCustomizers(imports)
        shell = new GroovyShell(getClass().classLoader, binding, compiler)
        registerDefaultSteps()
    }

    /** Removes the temporary workspace; the sandbox is trusting again. */
    void cleanup() {
        untrustedLibrary = false
        root.deleteDir()
    }

    /** As for a library loaded untrusted: the sandbox rejects FlowInterruptedException.getCauses, Rejection.getUser. */
    void setUntrustedLibrary(boolean untrusted) {
        FlowInterruptedException.sandboxed = untrusted
        Rejection.sandboxed = untrusted
    }

    // ---- what tests configure ------------------------------------------------------------------------------

    /** Registers (or replaces) a step. */
    void registerStep(String name, Closure implementation) {
        steps[name] = implementation
    }

    /** Makes these steps behave as in a Jenkins without their plugin: NoSuchMethodError, as CpsScript throws. */
    void withoutPlugin(String... stepNames) {
        missingSteps.addAll(stepNames as List)
    }

    /**
     * Scripts `sh`: when `match` (a substring, a Pattern or a Closure(script, env)) fits a script, `answer`
     * gives the result: a Map [stdout: '', status: 0] or a Closure(script, env) returning one (or a status).
     * The newest matching rule wins.
     */
    void onSh(Object match, Object answer) {
        shRules << [match: match, answer: answer]
    }

    /**
     * Scripts the next `input`: [approve: 'ops'] (ops presses the ok button), [reject: 'alice'] (alice presses Abort;
     * [reject: null]: Jenkins does not know who), [abortBuild: 'bob'] (bob aborts the whole build while it waits) or
     * [noAnswer: true] (nobody answers: the enclosing `timeout` expires; with none, the build would wait forever
     * and the test fails) or [throws: exception] (the input step itself fails so). Whoever approves must be allowed by the input's `submitter` (a comma-separated list of
     * user ids here; Jenkins also takes groups and always lets administrators answer). Anyone may reject: in
     * Jenkins, users with Job/Cancel permission may always answer Abort.
     */
    void answerInput(Map answer) {
        inputAnswers << answer
    }

    void addStringCredential(String id, String secret) {
        credentials[id] = secret
    }

    void addUsernamePassword(String id, String username, String password) {
        credentials[id] = [username: username, password: password]
    }

    /** A copy of the real resources/ in a temporary dir, plus files the real one lacks (e.g. a placeholder). */
    File overlayResources(Map<String, byte[]> extraIfMissing) {
        File overlay = new File(root, 'library-resources')
        overlay.mkdirs()
        if (resources.directory) {
            resources.eachFileRecurse(FileType.FILES) { File source ->
                File copy = new File(overlay, resources.toPath().relativize(source.toPath()).toString())
                copy.parentFile.mkdirs()
                copy.bytes = source.bytes
            }
        }
        extraIfMissing.each { String path, byte[] bytes ->
            File file = new File(overlay, path)
            if (!new File(resources, path).file) {
                file.parentFile.mkdirs()
                file.bytes = bytes
            }
        }
        resources = overlay
        return overlay
    }

    // ---- running ----------------------------------------------------------------------------------------------

    /** Calls a library step as a Jenkinsfile stage with an agent would; a build failure is recorded, not thrown. */
    Object runStep(String name, Object... args) {
        return runBuild { onAgent(null) { invokeStep(name, args) } }
    }

    /** Calls a library step outside any node, as a stage with `agent none` would. */
    Object runStepWithoutAgent(String name, Object... args) {
        return runBuild { invokeStep(name, args) }
    }

    /** Runs body on an agent, as the `node` step does (Declarative's agents call it). */
    Object onAgent(Object label, Closure body) {
        Map<String, String> values = [NODE_NAME: agentName, NODE_LABELS: "${agentName} ${label ?: ''}".trim(),
                                      WORKSPACE: workspace.path]
        return env.withOverlay(values) {
            nodeDepth++
            cwd << workspace
            try {
                return body.call()
            } finally {
                cwd.remove(cwd.size() - 1)
                nodeDepth--
            }
        }
    }

    /** Loads and runs a Jenkinsfile (scripted or declarative) with these build parameters. */
    Object runJenkinsfile(File file, Map parameters = [:]) {
        return runScript(file.getText('UTF-8'), file.name.replaceAll(/\W/, '_'), parameters)
    }

    /** Loads and runs pipeline script text. */
    Object runScript(String text, String name = 'inline', Map parameters = [:]) {
        (text =~ /@Library\(\s*'([^']+)'\s*\)/).each { List<String> match -> libraries << match[1] }
        givenParams.putAll(parameters)
        params.putAll(parameters)
        Script script = shell.parse(text, name)
        return runBuild { script.run() }
    }

    private Object runBuild(Closure body) {
        try {
            Object value = body.call()
            currentBuild.result = currentBuild.result ?: 'SUCCESS'
            return value
        } catch (IOException | NoSuchMethodError | RejectedAccessException buildFailure) {
            // what fails a Jenkins build: error(), a failed sh, a missing credential or step, the sandbox
            failure = buildFailure
            currentBuild.result = 'FAILURE'
            return null
        } catch (FlowInterruptedException interruption) {
            // a rejected input, an expired timeout, the Abort button: the build ends with the interruption's result
            failure = interruption
            currentBuild.result = interruption.result
            return null
        }
    }

    /** Declared parameter defaults, then what the build was started with (as Jenkins fills `params`). */
    void applyParameterDefaults(Map defaults) {
        params.clear()
        params.putAll(defaults)
        params.putAll(givenParams)
    }

    Object invokeStep(String name, Object[] args) {
        if (missingSteps.contains(name)) {
            calls << new StepCall(name, args as List, env.snapshot())
            throw new NoSuchMethodError("No such DSL method '${name}' found among steps ${steps.keySet().sort()}")
        }
        Closure implementation = steps[name]
        boolean libraryStep = implementation == null && new File(repo, "vars/${name}.groovy").file
        if (implementation == null && !libraryStep) {
            unregistered << name
            throw new UnregisteredStepError("unregistered step ${name}: register it in the test or the harness")
        }
        calls << new StepCall(name, args as List, env.snapshot())
        if (libraryStep) {
            return loadVar(name).invokeMethod('call', args)
        }
        return args.length == 0 ? implementation.call() : implementation.call(*(args as List))
    }

    Script loadVar(String name) {
        if (!loadedVars.containsKey(name)) {
            File source = new File(repo, "vars/${name}.groovy")
            Script script = shell.parse(source.getText('UTF-8'), name)
            loadedVars[name] = script
        }
        return loadedVars[name]
    }

    // ---- what tests read ----------------------------------------------------------------------------------------

    List<StepCall> callsOf(String name) {
        return calls.findAll { it.name == name }
    }

    List<String> shScripts() {
        return callsOf('sh').collect { StepCall call -> scriptOf(call.args[0]).toString() }
    }

    /** The file a relative path names in the current directory. */
    File file(String path) {
        File given = new File(path)
        return given.absolute ? given : new File(cwd[-1], path)
    }

    File getTmp() {
        return new File(cwd[-1].path + '@tmp')
    }

    // ---- the steps ---------------------------------------------------------------------------------------------

    private static Object scriptOf(Object arg) {
        return arg instanceof Map ? ((Map) arg).script : arg
    }

    private static Map named(Object arg, String key) {
        return arg instanceof Map ? (Map) arg : [(key): arg]
    }

    private Map shAnswer(String script, Map<String, String> environment) {
        Map rule = shRules.reverse().find { Map candidate -> fits(candidate.match, script, environment) }
        if (rule == null) {
            throw new AssertionError((Object) "unscripted sh: ${script}")
        }
        Object answer = rule.answer instanceof Closure ? ((Closure) rule.answer).call(script, environment) : rule.answer
        if (answer instanceof Number) {
            return [stdout: '', status: answer]
        }
        return [stdout: '', status: 0] + (Map) (answer ?: [:])
    }

    private static boolean fits(Object match, String script, Map<String, String> environment) {
        if (match instanceof Pattern) {
            return ((Pattern) match).matcher(script).find()
        }
        if (match instanceof Closure) {
            return ((Closure) match).call(script, environment)
        }
        return script.contains(match.toString())
    }

    /** Jenkins fails a step that needs a workspace outside a node; here it fails the test. */
    private void requireNode(String step) {
        if (nodeDepth == 0) {
            throw new AssertionError((Object) ("harness: ${step} outside any node: Jenkins fails it with " +
                '"Required context class hudson.FilePath is missing"'))
        }
    }

    private void registerDefaultSteps() {
        steps.echo = { Object message -> log << String.valueOf(message) }
        steps.node = { Object[] args ->
            Object label = args.length > 1 ? args[0] : null
            return onAgent(label instanceof Map ? ((Map) label).label : label, (Closure) args[-1])
        }
        steps.error = { Object message ->
            currentBuild.result = 'FAILURE'
            throw new AbortException(String.valueOf(message))
        }
        steps.sh = { Object arg ->
            requireNode('sh')
            Map options = named(arg, 'script')
            Object script = options.script
            if (script instanceof GString) {
                throw new AssertionError((Object) "sh got a GString (values belong in the environment): ${script}")
            }
            Map answer = shAnswer(script.toString(), env.snapshot())
            int status = answer.status as int
            if (options.returnStatus) {
                return status
            }
            if (status != 0) {
                throw new AbortException("script returned exit code ${status}")
            }
            return options.returnStdout ? answer.stdout.toString() : null
        }
        steps.pwd = { Map options = [:] ->
            requireNode('pwd')
            options?.tmp ? getTmp().path : cwd[-1].path
        }
        steps.dir = { Object path, Closure body ->
            requireNode('dir')
            File target = file(path.toString())
            target.mkdirs()
            cwd << target
            try {
                return body.call()
            } finally {
                cwd.remove(cwd.size() - 1)
            }
        }
        steps.script = { Closure body -> body.call() }
        steps.libraryResource = { Object arg ->
            Map options = named(arg, 'resource')
            File resource = new File(resources, options.resource.toString())
            if (!resource.file) {
                throw new AbortException("No such library resource ${options.resource} could be found " +
                    "(looked in ${resources}; the CLI bundle comes from `make bundle`)")
            }
            return options.encoding == 'Base64' ? resource.bytes.encodeBase64().toString() :
                resource.getText((options.encoding ?: 'UTF-8').toString())
        }
        steps.writeFile = { Map options ->
            requireNode('writeFile')
            File target = file(options.file.toString())
            target.parentFile.mkdirs()
            if (options.encoding == 'Base64') {
                target.bytes = options.text.toString().decodeBase64()
            } else {
                target.setText(options.text.toString(), (options.encoding ?: 'UTF-8').toString())
            }
            return null
        }
        steps.readFile = { Object arg ->
            requireNode('readFile')
            Map options = named(arg, 'file')
            File source = file(options.file.toString())
            if (!source.file) {
                throw new NoSuchFileException(source.path)
            }
            return source.getText((options.encoding ?: 'UTF-8').toString())
        }
        steps.fileExists = { Object arg ->
            requireNode('fileExists')
            file(named(arg, 'file').file.toString()).exists()
        }
        steps.readJSON = { Map options ->
            String text = options.containsKey('file') ? file(options.file.toString()).getText('UTF-8') : options.text
            return plain(new JsonSlurper().parseText(text))
        }
        steps.archiveArtifacts = { Object arg ->
            requireNode('archiveArtifacts')
            Map options = named(arg, 'artifacts')
            options.artifacts.toString().split(',')*.trim().each { String path ->
                File artifact = file(path)
                if (!artifact.file && !options.allowEmptyArchive) {
                    throw new AbortException("No artifacts found that match the file pattern \"${path}\"")
                }
                archived[path] = artifact.file ? artifact.getText('UTF-8') : null
            }
            return null
        }
        steps.withEnv = { List assignments, Closure body ->
            Map<String, String> values = [:]
            assignments.each { Object assignment ->
                String text = assignment.toString()
                int equals = text.indexOf('=')
                values[text.substring(0, equals)] = text.substring(equals + 1)
            }
            return env.withOverlay(values, body)
        }
        steps.string = { Map options -> [binding: 'string'] + options }
        steps.usernamePassword = { Map options -> [binding: 'usernamePassword'] + options }
        steps.withCredentials = { List bindings, Closure body ->
            Map<String, String> values = [:]
            bindings.each { Map wanted -> values.putAll(bind(wanted)) }
            boundSecrets.addAll(values.values().findAll { it })
            return env.withOverlay(values, body)
        }
        steps.lock = { Object resource, Closure body -> body.call() }
        steps.input = { Object arg -> answer(named(arg, 'message')) }
        steps.timeout = { Map options, Closure body ->
            Set unknown = options.keySet() - ['time', 'unit', 'activity']
            assert !unknown: "harness: timeout has no parameter(s) ${unknown}"
            assert options.time instanceof Integer && options.time > 0:
                "timeout(time:) must be a positive int, got ${options.time}"
            assert options.unit == null || options.unit.toString() in TimeUnit.values()*.name():
                "timeout(unit:) must name a TimeUnit, got ${options.unit}"
            String nodeId = "timeout-${++timeoutsStarted}".toString()
            activeTimeouts << options + [nodeId: nodeId]
            try {
                return body.call()
            } catch (FlowInterruptedException interruption) {
                // TimeoutStepExecution.Callback.onFailure: its own expiry, leaving it, is not an actual interruption
                if (interruption.causesUnchecked.any { it instanceof TimeoutStepExecution.ExceededTimeout &&
                        it.nodeId == nodeId }) {
                    interruption.actualInterruption = false
                }
                throw interruption
            } finally {
                activeTimeouts.remove(activeTimeouts.size() - 1)
            }
        }
        steps.retry = { Object count, Closure body -> retry(count instanceof Map ? ((Map) count).count : count, body) }
        steps.catchError = { Object[] args -> catchError(args.length > 1 ? (Map) args[0] : [:], (Closure) args[-1]) }
        steps.pipeline = { Closure body ->
            pipeline = new DeclarativePipeline(this, (Script) body.thisObject)
            pipeline.run(body)
        }
    }

    /**
     * retry(n) { … } as RetryStepExecution runs it (no conditions): a failure runs the body again while tries are
     * left, unless it is a FlowInterruptedException that is an actual interruption (a rejected input, the build's
     * Abort button), which goes on at once. Test failures are never retried.
     */
    private Object retry(Object count, Closure body) {
        int left = count as int
        while (true) {
            try {
                return body.call()
            } catch (AssertionError testFailure) {
                throw testFailure
            } catch (Throwable failure) {
                left--
                boolean actual = failure instanceof FlowInterruptedException &&
                    ((FlowInterruptedException) failure).actualInterruption
                if (left <= 0 || actual) {
                    throw failure
                }
                log << "${failure.message}".toString() << 'Retrying'
            }
        }
    }

    /**
     * catchError { … } as CatchErrorStep runs it: a failure is caught and the build continues. A
     * FlowInterruptedException sets the build's result to its own (ABORTED), whatever buildResult says; with
     * catchInterruptions: false an actual interruption goes on instead. Others set buildResult (FAILURE).
     */
    private Object catchError(Map options, Closure body) {
        try {
            body.call()
        } catch (AssertionError testFailure) {
            throw testFailure
        } catch (FlowInterruptedException interruption) {
            if (options.catchInterruptions == false && interruption.actualInterruption) {
                throw interruption
            }
            currentBuild.result = interruption.result
        } catch (Throwable failure) {
            log << String.valueOf(failure.message)
            currentBuild.result = (options.buildResult ?: 'FAILURE').toString()
        }
        return null
    }

    /** What Jenkins' input step does with the next scripted answer. */
    private Object answer(Map options) {
        Set unknown = options.keySet() - ['message', 'id', 'ok', 'submitter', 'submitterParameter']
        assert !unknown: "harness: input parameters ${unknown} are not supported"
        assert options.message: 'input without a message'
        if (inputAnswers.empty) {
            throw new AssertionError((Object) "unscripted input: ${options.message}")
        }
        Map answer = inputAnswers.remove(0)
        if (answer.containsKey('approve')) {
            mayApprove(answer.approve.toString(), options.submitter)
            // no parameters: null, or the approver's id when submitterParameter names it (the only value)
            return options.submitterParameter ? answer.approve.toString() : null
        }
        if (answer.containsKey('reject')) {
            throw new FlowInterruptedException('ABORTED',
                new Rejection(answer.reject == null ? null : new User(answer.reject.toString())))
        }
        if (answer.abortBuild) {
            throw new FlowInterruptedException('ABORTED',
                new CauseOfInterruption.UserInterruption(answer.abortBuild.toString()))
        }
        if (answer.throws) {
            throw (Throwable) answer.throws
        }
        assert answer.noAnswer: "harness: unknown input answer ${answer}"
        if (activeTimeouts.empty) {
            throw new AssertionError((Object) ("input waits forever: nobody answers '${options.message}' " +
                'and no timeout encloses it'))
        }
        throw new FlowInterruptedException('ABORTED', new TimeoutStepExecution.ExceededTimeout(activeTimeouts[-1].nodeId))
    }

    private static void mayApprove(String user, Object submitter) {
        List<String> allowed = submitter ? submitter.toString().split(',')*.trim() : []
        if (allowed && !(user in allowed)) {
            throw new AssertionError((Object) "harness: ${user} may not approve this input (submitter: ${submitter})")
        }
    }

    private Map<String, String> bind(Map wanted) {
        String id = wanted.credentialsId
        Object stored = credentials[id]
        if (stored == null) {
            throw new CredentialNotFoundException("Could not find credentials entry with ID '${id}'")
        }
        if (wanted.binding == 'string') {
            if (!(stored instanceof String)) {
                throw new CredentialNotFoundException("Credentials '${id}' is of type 'Username with password' " +
                    "where 'org.jenkinsci.plugins.plaincredentials.StringCredentials' was expected")
            }
            return [(wanted.variable.toString()): (String) stored]
        }
        if (wanted.binding == 'usernamePassword') {
            if (!(stored instanceof Map)) {
                throw new CredentialNotFoundException("Credentials '${id}' is of type 'Secret text' where " +
                    "'com.cloudbees.plugins.credentials.common.StandardUsernamePasswordCredentials' was expected")
            }
            return [(wanted.usernameVariable.toString()): stored.username.toString(),
                    (wanted.passwordVariable.toString()): stored.password.toString()]
        }
        throw new AssertionError((Object) "harness: unknown credential binding ${wanted}")
    }

    /** readJSON(returnPojo: true) gives LinkedHashMap/ArrayList: so does the harness. */
    private static Object plain(Object parsed) {
        if (parsed instanceof Map) {
            Map copy = new LinkedHashMap()
            ((Map) parsed).each { key, value -> copy[key] = plain(value) }
            return copy
        }
        if (parsed instanceof List) {
            return ((List) parsed).collect { plain(it) }
        }
        return parsed
    }
}
