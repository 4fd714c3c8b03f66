package dev.ioqueue;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The layer table of {@code docs/architecture.md}, checked on the main classes: API
 * ({@code dev.ioqueue}) over I/O helpers ({@code internal.io}) over the queue core
 * ({@code internal.core}) over the backends ({@code internal.poll}, {@code internal.epoll},
 * {@code internal.uring}) over the OS bindings ({@code internal.os}); {@code internal.base} for all.
 * Each layer calls only layers below it; no two packages depend on each other.
 */
class LayersTest {
    private static final JavaClasses MAIN = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.ioqueue");

    @Test
    void eachLayerUsesOnlyTheLayersBelowIt() {
        layeredArchitecture().consideringOnlyDependenciesInLayers()
                .layer("API").definedBy("dev.ioqueue")
                .layer("I/O helpers").definedBy("dev.ioqueue.internal.io..")
                .layer("queue core").definedBy("dev.ioqueue.internal.core..")
                .layer("backend interface").definedBy("dev.ioqueue.internal.poll..")
                .layer("backends").definedBy("dev.ioqueue.internal.epoll..", "dev.ioqueue.internal.uring..")
                .layer("OS bindings").definedBy("dev.ioqueue.internal.os..")
                .layer("foundation").definedBy("dev.ioqueue.internal.base..")
                .whereLayer("API").mayNotBeAccessedByAnyLayer()
                .whereLayer("I/O helpers").mayOnlyBeAccessedByLayers("API")
                .whereLayer("queue core").mayOnlyBeAccessedByLayers("API", "I/O helpers")
                .whereLayer("backends").mayOnlyBeAccessedByLayers("API", "I/O helpers", "queue core", "backends")
                .whereLayer("backend interface").mayOnlyBeAccessedByLayers("API", "I/O helpers", "queue core", "backends")
                .whereLayer("OS bindings").mayOnlyBeAccessedByLayers("API", "I/O helpers", "queue core", "backend interface", "backends")
                .check(MAIN);
    }

    @Test
    void noTwoPackagesDependOnEachOther() {
        slices().matching("dev.ioqueue.(**)").should().beFreeOfCycles().check(MAIN);
    }

    @Test
    void theOsBindingsDependOnNothingOfIoqueueButTheFoundation() {
        noClasses().that().resideInAPackage("dev.ioqueue.internal.os..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.ioqueue", "dev.ioqueue.internal.io..", "dev.ioqueue.internal.core..",
                        "dev.ioqueue.internal.poll..", "dev.ioqueue.internal.epoll..", "dev.ioqueue.internal.uring..")
                .check(MAIN);
    }

    @Test
    void theFoundationDependsOnNoOtherPackageOfIoqueue() {
        noClasses().that().resideInAPackage("dev.ioqueue.internal.base..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.ioqueue", "dev.ioqueue.internal.io..", "dev.ioqueue.internal.core..",
                        "dev.ioqueue.internal.poll..", "dev.ioqueue.internal.epoll..", "dev.ioqueue.internal.uring..", "dev.ioqueue.internal.os..")
                .check(MAIN);
    }

    @Test
    void theEpollAndIoUringBackendsDoNotDependOnEachOtherExceptTheRingOverEpoll() {
        noClasses().that().resideInAPackage("dev.ioqueue.internal.epoll..")
                .should().dependOnClassesThat().resideInAPackage("dev.ioqueue.internal.uring..")
                .check(MAIN);
    }

    @Test
    void thePublicPackageHoldsApiOnly() throws java.io.IOException {
        // Its public types are the documented API, which api/ioqueue-core.api lists (a change to it
        // is deliberate); besides them only the glue that connects the API to the layers below:
        // the access bridge's installer, the runner of user callbacks, and the typed fds' core.
        java.util.Set<String> api = new java.util.HashSet<>();
        for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("api/ioqueue-core.api"))) {
            var type = java.util.regex.Pattern.compile("^public .*?\\b(?:class|interface|enum|record) (\\S+)").matcher(line);
            if (type.find()) api.add(type.group(1));
        }
        java.util.Set<String> glue = java.util.Set.of("dev.ioqueue.ErrorFactory", "dev.ioqueue.UserCallbacks", "dev.ioqueue.TypedFd");
        classes().that().resideInAPackage("dev.ioqueue").and().areTopLevelClasses()
                .should(new com.tngtech.archunit.lang.ArchCondition<com.tngtech.archunit.core.domain.JavaClass>("be API (listed in api/ioqueue-core.api) or the API's glue") {
                    @Override
                    public void check(com.tngtech.archunit.core.domain.JavaClass c, com.tngtech.archunit.lang.ConditionEvents events) {
                        boolean ok = c.getModifiers().contains(com.tngtech.archunit.core.domain.JavaModifier.PUBLIC)
                                ? api.contains(c.getName()) : glue.contains(c.getName());
                        if (!ok) events.add(com.tngtech.archunit.lang.SimpleConditionEvent.violated(c, c.getName() + " is neither listed API nor the API's glue"));
                    }
                })
                .check(MAIN);
    }
}
