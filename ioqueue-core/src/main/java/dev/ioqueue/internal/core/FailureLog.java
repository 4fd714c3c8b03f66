package dev.ioqueue.internal.core;

import dev.ioqueue.internal.base.Errors;
import dev.ioqueue.internal.os.Errno;
import java.io.IOException;
import java.lang.System.Logger.Level;

/**
 * The library's logger ({@code System.Logger} named {@code dev.ioqueue}): no dependency, routed by
 * the JDK to {@code java.util.logging} or whatever the application installed.
 */
public final class FailureLog {
    public static final System.Logger LOGGER = System.getLogger("dev.ioqueue");

    private FailureLog() {}

    /**
     * Logs an unhandled operation failure: at DEBUG when the message says the peer went away
     * (a reset, a broken pipe, a refused or aborted connection: routine for a server), else at
     * WARNING.
     */
    static void log(int fd, IOException failure) {
        Level level = peerGone(failure) ? Level.DEBUG : Level.WARNING;
        if (LOGGER.isLoggable(level)) {
            LOGGER.log(level, "an I/O operation on fd " + fd + " failed and its completion did not handle it: " + failure.getMessage(), failure);
        }
    }

    /** Once per queue: an unhandled failure on a plain fd leaves the fd open (its owner is the caller). */
    static void plainFdLeftOpen(int fd, String thread) {
        if (LOGGER.isLoggable(Level.WARNING)) {
            LOGGER.log(Level.WARNING, "an I/O operation on plain fd " + fd + " (queue of thread " + thread + ") failed and its"
                    + " completion did not handle it: the fd is left open, as every plain fd whose operation fails unhandled"
                    + " on this queue will be (said once). Close it in failed(), or own it with a Handle, which is closed.");
        }
    }

    /**
     * A loop the library runs itself (the shared queue's, a group's) can no longer wait: its epoll
     * fd was closed behind its back. The library's own event, so logged at WARNING with {@code why}
     * (the failed wait), not given to a thread's uncaught-exception handler as a callback's throw is.
     */
    public static void cannotWait(String queue, String then, Throwable why) {
        if (LOGGER.isLoggable(Level.WARNING)) {
            LOGGER.log(Level.WARNING, queue + " can no longer wait: its waits are dropped, and " + then, why);
        }
    }

    private static boolean peerGone(IOException failure) {
        return switch (Errors.errnoOf(failure)) {
            case Errno.ECONNRESET, Errno.EPIPE, Errno.ECONNABORTED, Errno.ENOTCONN, Errno.ETIMEDOUT, Errno.ECONNREFUSED -> true;
            default -> false;
        };
    }
}
