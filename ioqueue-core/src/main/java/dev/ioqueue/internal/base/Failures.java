package dev.ioqueue.internal.base;

/**
 * The one rule for several failures in one call: the first propagates, the next
 * {@value #MAX_SUPPRESSED} are suppressed onto it, the rest are dropped (a close() that runs
 * 200,000 failing tasks must neither take quadratic time nor hold them all).
 */
public final class Failures {
    public static final int MAX_SUPPRESSED = 64;

    private Failures() {}

    /** {@code first}, or {@code next} when there is no first yet; {@code next} suppressed onto it otherwise. */
    public static Throwable add(Throwable first, Throwable next) {
        if (first == null) return next;
        if (next != null && next != first && first.getSuppressed().length < MAX_SUPPRESSED) first.addSuppressed(next);
        return first;
    }

    /** Throws {@code failure} if there is one (it is a RuntimeException or an Error in practice). */
    public static void rethrow(Throwable failure) {
        if (failure == null) return;
        if (failure instanceof RuntimeException r) throw r;
        if (failure instanceof Error e) throw e;
        throw new IllegalStateException(failure);
    }
}
