import java.lang.annotation.ElementType
import java.lang.annotation.Retention
import java.lang.annotation.RetentionPolicy
import java.lang.annotation.Target

/** Stands for com.cloudbees.groovy.cps.NonCPS, which Jenkins imports into every pipeline script. */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
@interface HarnessNonCPS {
}
