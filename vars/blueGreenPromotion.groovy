/*
 * blueGreenPromotion: blueGreenDeploy with promotion: 'manual'. The CLI stages the new image in the idle color
 * (started, health-gated, reachable at a preview address, no switch); a person approves it with `input` and the CLI
 * promotes it (switch, verify, automatic rollback, monitoring). On a rejection, a timeout, an aborted build or any
 * other end of the question the CLI removes the staged color and the exception goes on as it came (a rejected
 * `input` ends the build ABORTED). With a label, the question waits on no agent: each command takes a node.
 * Internal: blueGreenDeploy calls it; blueGreenPromotion.txt says why it is a step of its own.
 */
// Any end of the question but an approval (a rejection, the timeout, the Abort button, the input step itself failing)
// must remove the staged color, and no failure to say why may keep it running: hence catch Throwable and Exception.
/* groovylint-disable CatchThrowable, CatchException */
import groovy.transform.Field
import java.util.regex.Matcher
import jenkins.model.CauseOfInterruption
import org.jenkinsci.plugins.workflow.steps.FlowInterruptedException
import org.jenkinsci.plugins.workflow.steps.TimeoutStepExecution
import org.jenkinsci.plugins.workflow.support.steps.input.Rejection

// promotionTimeout as bluegreen writes durations elsewhere (monitor: '60s'): a whole number of s, m or h.
@Field static final String TIMEOUT_PATTERN = /^([1-9][0-9]{0,5})([smh])$/
@Field static final Map<String, String> TIME_UNITS = [s: 'SECONDS', m: 'MINUTES', h: 'HOURS']

/**
 * Stages, asks, then promotes or aborts; returns the promote report.
 * args: step, cli (service, config, lang, image, monitor), report (the promote or abort report's file name, or
 * null), useLock, promotionTimeout ('30m'; null = wait until someone answers), submitter (null = anyone who may
 * build the job), label, runner, runnerImage (as for blueGreenCli).
 */
Map call(Map args) {
    String step = args.step
    Map cli = args.cli
    Map limit = timeLimitOf(args.promotionTimeout)
    if (args.promotionTimeout != null && !limit) {
        error("${step}: promotionTimeout '${args.promotionTimeout}' is not a duration such as '90s', '30m' or '2h'")
    }
    if (args.submitter != null && !(args.submitter instanceof CharSequence && args.submitter.toString().trim())) {
        error("${step}: submitter '${args.submitter}' names nobody; give user ids or groups, comma-separated " +
            "(e.g. 'ops' or 'alice,ops'), or leave it out to let anyone who can build the job promote")
    }

    if (env.NODE_NAME) {
        echo("${step}: manual promotion called inside a node (${env.NODE_NAME}): its executor stays taken while the " +
            "question waits. Call it from a stage with `agent none` and give label: '…' (the nodes on the Docker " +
            'host): each command then takes a node for its own run, and none is held while a person decides.')
    }

    // The whole operation (stage, the wait for a person, promote or abort) runs inside one blueGreenCli frame, so
    // Lockable Resources' lock('bluegreen-<service>') is held while the input waits. The staged color fills the
    // service's only idle slot: another deploy or a rollback of the service would be refused by the CLI meanwhile,
    // or act on a color nobody approved. Holding the lock makes them queue in Jenkins, visibly ("waiting for
    // bluegreen-backend"), until this promotion is answered. The CLI's own lock is not held while waiting; with a
    // label no executor is either (the lock needs none).
    Map frame = [step: step, cli: cli.subMap(['service', 'config', 'lang']), report: args.report,
                 useLock: args.useLock] + args.subMap(['label', 'runner', 'runnerImage'])
    return blueGreenCli(frame) { Closure run ->
        Map staged = run(command: 'stage', cli: cli.subMap(['image']))
        String approver = null
        try {
            approver = ask(cli.service, staged, limit, args.submitter)
        } catch (Throwable notApproved) {
            removeStaged(run, args, staged, notApproved)
            // Rethrown as it came: a rejection or a timeout ends the build ABORTED, like any rejected input, and
            // `post { aborted }` runs; the timeout's stays "not an actual interruption" for an enclosing retry.
            throw notApproved
        }
        echo("${step}: promotion of ${cli.service} approved by ${approver ?: 'an unknown user'}")
        return run(command: 'promote', cli: cli.subMap(['monitor']), report: args.report)
    }
}

// The staged color goes whatever ended the question. Why is said first, when it can be read: reading it may itself
// throw (a library loaded untrusted, where the sandbox rejects FlowInterruptedException.getCauses and
// Rejection.getUser with a RejectedAccessException), and the abort runs in the finally whatever it does.
void removeStaged(Closure run, Map args, Map staged, Throwable notApproved) {
    try {
        String why = whyNotSafely(notApproved, args.promotionTimeout)
        echo("${args.step}: ${args.cli.service} is not promoted: ${why}; " +
            "removing the staged ${staged.to ?: 'color'} (bluegreen abort)")
    } finally {
        run(command: 'abort', report: args.report)
    }
}

String whyNotSafely(Throwable notApproved, Object promotionTimeout) {
    try {
        if (notApproved instanceof FlowInterruptedException) {
            return whyNot((FlowInterruptedException) notApproved, promotionTimeout)
        }
        return "the question ended with ${notApproved}"
    } catch (Exception unreadable) {
        return "why cannot be read here (${unreadable})"
    }
}

// Asks whoever may promote, showing what was staged and where to look at it; returns the approver's user id.
// A rejection, the timeout and the build's Abort button throw FlowInterruptedException.
String ask(String service, Map staged, Map limit, Object submitter) {
    Map question = [id: "Promote-${service}".toString(), message: questionOf(service, staged), ok: 'Promote',
                    submitterParameter: 'approver']
    if (submitter != null) {
        question.submitter = submitter.toString()
    }
    if (!limit) {
        return input(question)
    }
    return timeout(time: limit.time, unit: limit.unit) {
        input(question)
    }
}

// '30m' → [time: 30, unit: 'MINUTES'] (the timeout step's parameters); [:] for null or anything else.
@NonCPS
static Map timeLimitOf(Object duration) {
    Matcher match = duration == null ? null : (duration.toString() =~ TIMEOUT_PATTERN)
    if (match == null || !match.matches()) {
        return [:]
    }
    return [time: match.group(1).toInteger(), unit: TIME_UNITS[match.group(2)]]
}

@NonCPS
static String questionOf(String service, Map staged) {
    String color = staged.to ?: 'the idle color'
    String image = staged.image ?: 'the new image'
    String preview = staged.preview_url ?: 'none reported'
    String active = staged.from ?: 'the active color'
    return "Promote ${service}? ${image} runs in ${color}, healthy. Preview: ${preview}. " +
        "${active} serves until you promote; Abort removes ${color}."
}

// Why the input ended without an approval, for the log: who rejected it, the timeout, or who aborted the build.
@NonCPS
static String whyNot(FlowInterruptedException interruption, Object promotionTimeout) {
    for (CauseOfInterruption cause in interruption.causes) {
        switch (cause) {
            case TimeoutStepExecution.ExceededTimeout:
                return "timed out: nobody answered within ${promotionTimeout}"
            case Rejection:
                return cause.user ? "rejected by ${cause.user.id}" : 'rejected'
            case CauseOfInterruption.UserInterruption:
                return "the build was aborted by ${cause.userId}"
            default:
                break
        }
    }
    String causes = interruption.causes*.shortDescription.join('; ')
    return causes ? "interrupted (${causes})" : 'interrupted'
}
