import org.jenkinsci.plugins.workflow.steps.FlowInterruptedException

/**
 * A minimal Declarative Pipeline interpreter: enough of `pipeline {}` to load and run this library's Jenkinsfiles.
 * It reads agent (any, none, { label … }; at the top and per stage), options, parameters, environment, stages
 * (stage, agent, when { expression / not / allOf / anyOf }, steps, post) and post (always, aborted, failure,
 * success, unstable, cleanup), then runs the stages in order like Jenkins: an agent other than none runs its
 * stages (or its stage) inside `node(label)` (any = no label; Declarative's LabelScript calls `node` the same way);
 * a `when` that does not hold skips its stage ("skipped due to when conditional"); after a failure the remaining
 * stages are skipped and post runs. A FlowInterruptedException (a rejected input, an expired timeout) aborts the
 * stage and the build instead of failing them. Steps blocks run against the script, so their steps reach the harness.
 * A directive it does not know fails the test rather than being ignored.
 */
class DeclarativePipeline {
    final PipelineHarness harness
    final Script script
    Object agent
    final List<Map> options = []
    final List<Map> parameters = []
    final Map<String, String> environment = [:]
    final List<StageDefinition> stages = []
    final Map<String, Closure> post = [:]
    /** [name: 'Build', status: 'success' | 'failed' | 'aborted' | 'skipped' | 'skipped (earlier failure)'] */
    final List<Map> stageResults = []

    DeclarativePipeline(PipelineHarness harness, Script script) {
        this.harness = harness
        this.script = script
    }

    void run(Closure body) {
        withDelegate(body, new PipelineSection(this))
        harness.applyParameterDefaults(parameterDefaults())
        Throwable failure = null
        onAgent(agent) {
            for (StageDefinition stage in stages) {
                failure = runStage(stage, failure)
            }
            runPost(post, failure)
        }
        if (failure != null) {
            throw failure
        }
    }

    /** Runs body in `node(label)` for an agent other than none (null: no agent directive, as none here). */
    Object onAgent(Object agentDirective, Closure body) {
        if (agentDirective == null || agentDirective == 'none') {
            return body.call()
        }
        Object label = null
        if (agentDirective instanceof Closure) {
            AgentSection section = new AgentSection()
            withDelegate((Closure) agentDirective, section)
            label = section.label
        } else {
            assert agentDirective == 'any': "harness: agent ${agentDirective} is not supported"
        }
        return harness.invokeStep('node', [label, body] as Object[])
    }

    /** the names of the stages that ran their steps */
    List<String> getRanStages() {
        return stageResults.findAll { it.status in ['success', 'failed', 'aborted'] }*.name
    }

    String statusOf(String stageName) {
        return stageResults.find { it.name == stageName }?.status
    }

    private Throwable runStage(StageDefinition stage, Throwable earlier) {
        if (earlier != null) {
            harness.log << "Stage \"${stage.name}\" skipped due to earlier failure(s)".toString()
            stageResults << [name: stage.name, status: 'skipped (earlier failure)']
            return earlier
        }
        if (!stage.conditions.every { Closure condition -> evaluate(condition) }) {
            harness.log << "Stage \"${stage.name}\" skipped due to when conditional".toString()
            stageResults << [name: stage.name, status: 'skipped']
            return null
        }
        Throwable failure = null
        onAgent(stage.agent) {
            try {
                onScript(stage.steps)
                stageResults << [name: stage.name, status: 'success']
            } catch (AssertionError testFailure) {
                throw testFailure
            } catch (FlowInterruptedException interruption) {
                harness.currentBuild.result = interruption.result
                stageResults << [name: stage.name, status: 'aborted']
                failure = interruption
            } catch (Throwable stageFailure) {
                harness.currentBuild.result = 'FAILURE'
                stageResults << [name: stage.name, status: 'failed']
                failure = stageFailure
            }
            runPost(stage.post, failure)
        }
        return failure
    }

    private void runPost(Map<String, Closure> conditions, Throwable failure) {
        String result = failure instanceof FlowInterruptedException ? ((FlowInterruptedException) failure).result :
            failure != null ? 'FAILURE' : harness.currentBuild.currentResult
        List<String> order = ['always', 'aborted', 'failure', 'success', 'unstable', 'cleanup']
        conditions.keySet().findAll { !(it in order) }.each { String unknown ->
            throw new AssertionError((Object) "harness: post condition '${unknown}' is not supported")
        }
        order.each { String condition ->
            Closure block = conditions[condition]
            boolean holds = condition in ['always', 'cleanup'] || condition.toUpperCase() == result
            if (block != null && holds) {
                onScript(block)
            }
        }
    }

    private boolean evaluate(Closure condition) {
        return condition.call() as boolean
    }

    /** Runs a steps/expression block with the script as delegate: its steps go to the harness. */
    Object onScript(Closure block) {
        return withDelegate(block, script)
    }

    static Object withDelegate(Closure block, Object delegate) {
        Closure copy = (Closure) block.clone()
        copy.delegate = delegate
        copy.resolveStrategy = Closure.DELEGATE_FIRST
        return copy.call()
    }

    private Map parameterDefaults() {
        Map defaults = [:]
        parameters.each { Map parameter ->
            Map args = (Map) parameter.args
            switch (parameter.type) {
                case 'choice':
                    defaults[args.name] = (args.choices as List)[0]
                    break
                case 'booleanParam':
                    defaults[args.name] = args.defaultValue ?: false
                    break
                case 'string':
                case 'text':
                case 'password':
                    defaults[args.name] = args.defaultValue ?: ''
                    break
                default:
                    throw new AssertionError((Object) "harness: parameter type ${parameter.type} is not supported")
            }
        }
        return defaults
    }
}

/** Directives refused by a section fail the test, so a typo or an unsupported directive is never ignored. */
abstract class DeclarativeSection {
    Object methodMissing(String name, Object args) {
        throw new AssertionError((Object) "harness: '${name}' is not a directive the interpreter knows here " +
            "(${getClass().simpleName})")
    }
}

/** Where `agent` may be written (the pipeline, a stage): `any` and `none` read as their names. */
abstract class AgentDirectives extends DeclarativeSection {
    String getAny() {
        return 'any'
    }

    String getNone() {
        return 'none'
    }
}

class PipelineSection extends AgentDirectives {
    final DeclarativePipeline pipeline

    PipelineSection(DeclarativePipeline pipeline) {
        this.pipeline = pipeline
    }

    void agent(Object agent) {
        pipeline.agent = agent
    }

    void options(Closure body) {
        DeclarativePipeline.withDelegate(body, new RecordingSection(pipeline.options))
    }

    void parameters(Closure body) {
        DeclarativePipeline.withDelegate(body, new RecordingSection(pipeline.parameters))
    }

    void environment(Closure body) {
        DeclarativePipeline.withDelegate(body, new EnvironmentSection(pipeline))
    }

    void stages(Closure body) {
        DeclarativePipeline.withDelegate(body, new StagesSection(pipeline))
    }

    void post(Closure body) {
        DeclarativePipeline.withDelegate(body, new PostSection(pipeline.post))
    }
}

/** agent { label … }: the label, evaluated when the agent is taken (so params and env are the build's). */
class AgentSection extends DeclarativeSection {
    Object label

    void label(Object value) {
        label = value
    }
}

/** options {} and parameters {}: every entry is recorded as [type: name, args: first argument]. */
class RecordingSection {
    final List<Map> entries

    RecordingSection(List<Map> entries) {
        this.entries = entries
    }

    Object methodMissing(String name, Object args) {
        Object[] given = args as Object[]
        Map entry = [type: name, args: given.length > 0 ? given[0] : [:]]
        entries << entry
        return entry
    }
}

/** environment {}: NAME = value sets an environment variable, in order; later values may use earlier ones. */
class EnvironmentSection {
    final DeclarativePipeline pipeline

    EnvironmentSection(DeclarativePipeline pipeline) {
        this.pipeline = pipeline
    }

    @Override
    void setProperty(String name, Object value) {
        pipeline.environment[name] = value?.toString()
        pipeline.harness.env.put(name, value)
    }

    @Override
    Object getProperty(String name) {
        String value = pipeline.harness.env.lookup(name)
        return value != null ? value : pipeline.script.getProperty(name)
    }
}

class StagesSection extends DeclarativeSection {
    final DeclarativePipeline pipeline

    StagesSection(DeclarativePipeline pipeline) {
        this.pipeline = pipeline
    }

    void stage(String name, Closure body) {
        StageDefinition stage = new StageDefinition(name: name)
        DeclarativePipeline.withDelegate(body, new StageSection(stage, pipeline))
        assert stage.steps != null: "stage '${name}' has no steps"
        pipeline.stages << stage
    }
}

class StageDefinition {
    String name
    Object agent
    Closure steps
    final List<Closure> conditions = []
    final Map<String, Closure> post = [:]
}

class StageSection extends AgentDirectives {
    final StageDefinition stage
    final DeclarativePipeline pipeline

    StageSection(StageDefinition stage, DeclarativePipeline pipeline) {
        this.stage = stage
        this.pipeline = pipeline
    }

    void agent(Object agent) {
        stage.agent = agent
    }

    void when(Closure body) {
        DeclarativePipeline.withDelegate(body, new WhenSection(stage.conditions, pipeline))
    }

    void steps(Closure body) {
        stage.steps = body
    }

    void post(Closure body) {
        DeclarativePipeline.withDelegate(body, new PostSection(stage.post))
    }
}

/** when {}: each condition becomes a closure evaluated, against the script, when the stage is reached. */
class WhenSection extends DeclarativeSection {
    final List<Closure> conditions
    final DeclarativePipeline pipeline

    WhenSection(List<Closure> conditions, DeclarativePipeline pipeline) {
        this.conditions = conditions
        this.pipeline = pipeline
    }

    void beforeAgent(boolean ignored) {
        // agents are not modelled
    }

    void expression(Closure body) {
        conditions << { -> pipeline.onScript(body) as boolean }
    }

    void not(Closure body) {
        List<Closure> inner = collect(body)
        conditions << { -> !inner.every { it.call() } }
    }

    void allOf(Closure body) {
        List<Closure> inner = collect(body)
        conditions << { -> inner.every { it.call() } }
    }

    void anyOf(Closure body) {
        List<Closure> inner = collect(body)
        conditions << { -> inner.any { it.call() } }
    }

    private List<Closure> collect(Closure body) {
        List<Closure> inner = []
        DeclarativePipeline.withDelegate(body, new WhenSection(inner, pipeline))
        return inner
    }
}

class PostSection extends DeclarativeSection {
    final Map<String, Closure> blocks

    PostSection(Map<String, Closure> blocks) {
        this.blocks = blocks
    }

    Object methodMissing(String name, Object args) {
        Object[] given = args as Object[]
        if (given.length != 1 || !(given[0] instanceof Closure)) {
            return super.methodMissing(name, args)
        }
        blocks[name] = (Closure) given[0]
        return null
    }
}
