package dev.ioqueue;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/** getrlimit/setrlimit(RLIMIT_NOFILE) for tests that need a real EMFILE quickly. */
final class FdLimit {
    private static final int RLIMIT_NOFILE = 7;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle GET = LINKER.downcallHandle(LINKER.defaultLookup().find("getrlimit").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle SET = LINKER.downcallHandle(LINKER.defaultLookup().find("setrlimit").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));

    private FdLimit() {}

    /** The soft limit. */
    static long soft() throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment rl = arena.allocate(16, 8);
            if ((int) GET.invokeExact(RLIMIT_NOFILE, rl) != 0) throw new AssertionError("getrlimit");
            return rl.get(JAVA_LONG, 0);
        }
    }

    /** Sets the soft limit, keeping the hard one. */
    static void setSoft(long soft) throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment rl = arena.allocate(16, 8);
            if ((int) GET.invokeExact(RLIMIT_NOFILE, rl) != 0) throw new AssertionError("getrlimit");
            rl.set(JAVA_LONG, 0, soft);
            if ((int) SET.invokeExact(RLIMIT_NOFILE, rl) != 0) throw new AssertionError("setrlimit");
        }
    }
}
