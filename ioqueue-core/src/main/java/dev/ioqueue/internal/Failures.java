package dev.ioqueue.internal;

/** The one rule for several failures in one call: the first propagates, the rest are suppressed onto it. */
public final class Failures {
    private Failures() {}

    /** {@code first}, or {@code next} when there is no first yet; {@code next} suppressed onto it otherwise. */
    public static Throwable add(Throwable first, Throwable next) {
        if (first == null) return next;
        if (next != null && next != first) first.addSuppressed(next);
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
