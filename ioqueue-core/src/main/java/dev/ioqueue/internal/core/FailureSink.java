package dev.ioqueue.internal.core;

import java.io.IOException;

/**
 * Where a queue sends the failures of operations whose completion does not handle them: the
 * user's handler (installed through the facade), or {@link #LOG}. Runs on the queue's owner thread.
 */
@FunctionalInterface
public interface FailureSink {
    /** An operation on {@code fd} failed with {@code failure} and nobody handled it. */
    void failed(int fd, IOException failure);

    /** The default: logs through {@code System.Logger} ({@code dev.ioqueue}), quietly for a peer gone. */
    FailureSink LOG = FailureLog::log;
}
