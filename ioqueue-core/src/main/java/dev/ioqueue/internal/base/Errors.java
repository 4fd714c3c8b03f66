package dev.ioqueue.internal.base;

import java.io.IOException;

/**
 * The one access bridge from the internal layers to the API package, as the JDK's
 * {@code SharedSecrets} is: the exceptions a caller catches are public types of {@code dev.ioqueue},
 * which the layers below must make without depending on that package. The API package installs
 * the {@link Factory} when its {@code ErrorFactory} class is initialised; {@link #factory()}
 * initialises it by name on first use, so no internal class names an API class.
 *
 * <p>Thread-safe: installed once, read without a lock.
 */
public final class Errors {
    /** What the API package makes for the layers below. */
    public interface Factory {
        /** The unchecked failure of {@code call} on {@code fd} ({@link #NO_FD}: a call without one), {@code detail} or null. */
        RuntimeException syscall(String call, int fd, int errno, String detail);

        /** The checked failure of the same (an {@code IOException} subclass carrying the errno and fd). */
        IOException io(String call, int fd, int errno, String detail);

        /** A wait or operation whose fd was closed behind its queue's back. */
        Error prematureClose(int fd, String detail);

        /** A blocking wait or future that its queue dropped (fd closed or unregistered, queue closed). */
        IOException dropped(int fd, String why);

        /** The name of an errno number ({@code "EBADF"}, or {@code "errno 200"}). */
        String errnoName(int errno);

        /** The errno a failure of the API's carries, or 0. */
        int errnoOf(Throwable failure);
    }

    /** The fd of a call that takes none. */
    public static final int NO_FD = Integer.MIN_VALUE;

    private static final String INSTALLER = "dev.ioqueue.ErrorFactory";
    private static volatile Factory factory;

    private Errors() {}

    /** Called once, by the API package's {@code ErrorFactory}. */
    public static void install(Factory f) {
        factory = f;
    }

    private static Factory factory() {
        Factory f = factory;
        if (f != null) return f;
        try {
            Class.forName(INSTALLER, true, Errors.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new AssertionError("the API package's " + INSTALLER + " is missing", e);
        }
        return factory;
    }

    public static RuntimeException syscall(String call, int fd, int errno, String detail) {
        return factory().syscall(call, fd, errno, detail);
    }

    public static RuntimeException syscall(String call, int fd, int errno) {
        return factory().syscall(call, fd, errno, null);
    }

    /** The unchecked failure of a call that takes no fd ({@code pipe2}, {@code socket}...). */
    public static RuntimeException syscallNoFd(String call, int errno, String detail) {
        return factory().syscall(call, NO_FD, errno, detail);
    }

    public static IOException io(String call, int fd, int errno, String detail) {
        return factory().io(call, fd, errno, detail);
    }

    public static Error prematureClose(int fd, String detail) {
        return factory().prematureClose(fd, detail);
    }

    public static IOException dropped(int fd, String why) {
        return factory().dropped(fd, why);
    }

    public static String errnoName(int errno) {
        return factory().errnoName(errno);
    }

    public static int errnoOf(Throwable failure) {
        return factory().errnoOf(failure);
    }
}
