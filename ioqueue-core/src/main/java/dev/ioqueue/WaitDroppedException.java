package dev.ioqueue;

import java.io.IOException;

/**
 * A wait made through a future ({@link IoQueue#whenReady}) or a blocking call
 * ({@link Fds#awaitReady}, {@link BlockingIo}) could not complete: while it waited, its
 * {@link Handle} was closed (from any thread), its fd was unregistered or closed through
 * {@link Fds#close} on the queue's thread, or the queue was closed. The JDK's
 * {@code AsynchronousCloseException} plays the same part for a thread blocked on a channel.
 */
public final class WaitDroppedException extends IOException {
    private final int fd;

    /** A wait on {@code fd} that was dropped. */
    public WaitDroppedException(int fd) {
        this(fd, "the fd was unregistered or closed, or its queue closed");
    }

    /** A wait on {@code fd} that was dropped, saying why. */
    public WaitDroppedException(int fd, String why) {
        super((fd >= 0 ? "the wait on fd " + fd : "the wait") + " was dropped: " + why); // -1: no fd yet (a connect)
        this.fd = fd;
    }

    /** The fd that was waited on. */
    public int fd() {
        return fd;
    }
}
