package dev.ioqueue;

import java.io.IOException;

/**
 * A wait made through a future ({@link IoQueue#whenReady}) or a blocking call
 * ({@link Fds#awaitReady}) could not complete: while it waited, its fd was unregistered or closed
 * through {@link Fds#close}/{@link Handle#close()} on the queue's thread, found closed behind the
 * queue's back, or the queue was closed. The JDK's {@code AsynchronousCloseException} plays the same
 * part for a thread blocked on a channel.
 */
public final class WaitDroppedException extends IOException {
    private final int fd;

    /** A wait on {@code fd} that was dropped. */
    public WaitDroppedException(int fd) {
        super("the wait on fd " + fd + " was dropped: the fd was unregistered or closed, or its queue closed");
        this.fd = fd;
    }

    /** The fd that was waited on. */
    public int fd() {
        return fd;
    }
}
