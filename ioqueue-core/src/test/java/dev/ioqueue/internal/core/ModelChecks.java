package dev.ioqueue.internal.core;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.jetbrains.kotlinx.lincheck.Actor;
import org.jetbrains.kotlinx.lincheck.execution.ExecutionScenario;
import org.jetbrains.kotlinx.lincheck.strategy.managed.modelchecking.ModelCheckingOptions;

/**
 * The size of the Lincheck model checks. An invocation costs milliseconds under the model checker
 * on 2 cores, so a check explores a few random small scenarios plus the scenarios that matter,
 * written out ({@link #scenario}), each over a bounded number of interleavings: seconds per
 * model. Each model was checked to fail on a mutant of the code it guards at this size.
 */
final class ModelChecks {
    private ModelChecks() {}

    static ModelCheckingOptions options(Class<?> sequentialSpecification, ExecutionScenario... scenarios) {
        ModelCheckingOptions o = new ModelCheckingOptions()
                .iterations(Integer.getInteger("ioqueue.lincheck.iterations", 2))
                .invocationsPerIteration(Integer.getInteger("ioqueue.lincheck.invocations", 100))
                .threads(3)
                .actorsPerThread(2)
                .sequentialSpecification(sequentialSpecification);
        for (ExecutionScenario s : scenarios) o.addCustomScenario(s);
        return o;
    }

    /** A scenario of threads, each a list of calls "name" or "name:intArgument" on {@code test}. */
    static ExecutionScenario scenario(Class<?> test, String[]... threads) {
        List<List<Actor>> parallel = new ArrayList<>();
        for (String[] calls : threads) {
            List<Actor> actors = new ArrayList<>();
            for (String call : calls) actors.add(actor(test, call));
            parallel.add(actors);
        }
        return new ExecutionScenario(List.of(), parallel, List.of(), null);
    }

    private static Actor actor(Class<?> test, String call) {
        String[] parts = call.split(":");
        Method m = Arrays.stream(test.getMethods()).filter(x -> x.getName().equals(parts[0])).findFirst().orElseThrow();
        List<Object> args = parts.length == 1 ? List.of() : List.of(Integer.parseInt(parts[1]));
        return new Actor(m, args, false, false, false, false, false);
    }
}
