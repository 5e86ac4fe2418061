import junit.framework.TestCase
import junit.framework.TestResult
import junit.framework.TestSuite

/*
 * Runs the pipeline tests (JUnit 3 style, GroovyTestCase) on plain Groovy and ends with the line CI reads:
 * `groovy: N passed, N failed`. Arguments narrow the run to test names containing any of them.
 */
// Compiled here from their files, so that a test file that doesn't compile says why.
File testDir = new File(getClass().protectionDomain.codeSource.location.path).parentFile
GroovyClassLoader loader = new GroovyClassLoader(getClass().classLoader)
loader.addClasspath(testDir.path)
List<String> testNames = ['PipelineHarnessTest', 'BlueGreenOptionsTest', 'BlueGreenDeployTest', 'BlueGreenAgentTest',
                           'BlueGreenPromotionTest', 'BlueGreenRollbackTest', 'JenkinsfileTest']
List<Class> testClasses = testNames.collect { String name ->
    loader.parseClass(new File(testDir, "${name}.groovy"))
}
List<String> filters = args as List

int passed = 0
int failed = 0
testClasses.each { Class testClass ->
    List<String> names = testClass.methods*.name.findAll { it.startsWith('test') }.unique().sort()
    names.each { String name ->
        String label = "${testClass.simpleName} > ${name}"
        if (filters && !filters.any { label.contains(it) }) {
            return
        }
        TestCase test = (TestCase) TestSuite.createTest(testClass, name)
        TestResult result = new TestResult()
        test.run(result)
        if (result.wasSuccessful()) {
            passed++
            println "ok    ${label}"
        } else {
            failed++
            println "FAIL  ${label}"
            (result.failures().toList() + result.errors().toList()).each { failure ->
                StringWriter trace = new StringWriter()
                failure.thrownException().printStackTrace(new PrintWriter(trace))
                println trace.toString().readLines()
                    .findAll { !(it =~ /^\s+at (java\.|jdk\.|sun\.|org\.codehaus\.groovy\.|groovy\.lang\.|groovy\.ui\.|junit\.|RunTests)/) }
                    .take(40).collect { '      ' + it }.join('\n')
            }
        }
    }
}
println "groovy: ${passed} passed, ${failed} failed"
System.exit(failed == 0 && passed > 0 ? 0 : 1)
