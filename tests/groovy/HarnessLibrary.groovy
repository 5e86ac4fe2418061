import java.lang.annotation.Retention
import java.lang.annotation.RetentionPolicy

/** Stands for Jenkins' @Library so that `@Library('bluegreen') _` compiles; the harness records it from the text. */
@Retention(RetentionPolicy.SOURCE)
@interface HarnessLibrary {
    String[] value()
}
