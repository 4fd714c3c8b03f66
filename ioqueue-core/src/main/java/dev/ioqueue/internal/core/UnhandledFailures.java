package dev.ioqueue.internal.core;

import java.io.IOException;

/**
 * Where one queue sends an I/O operation's failure that its completion did not handle: to the
 * failure sink (logging by default), closing the owned fd the operation ran on (as a channel is
 * closed on an I/O error; an accept's listener stays open), and warning once that a plain fd is
 * left open. Owner thread of the queue.
 */
final class UnhandledFailures {
    private FailureSink sink = FailureSink.LOG;
    /** Whether the one warning that unhandled failures leave plain fds open was given. */
    private boolean warnedPlainFdLeft;
    /** The operation whose {@code failed} is running (for the default handling of its failure). */
    private Operation failing;

    /** {@code sink}, or the default (logging) if null. */
    void sink(FailureSink sink) {
        this.sink = sink != null ? sink : FailureSink.LOG;
    }

    void failing(Operation op) {
        failing = op;
    }

    Operation failing() {
        return failing;
    }

    /** {@code failure}, on {@code fd}, reached the default {@code failed} of an operation of {@code queue}. */
    void handle(QueueCore queue, int fd, IOException failure) {
        Operation op = failing;
        boolean ran = op != null && op.queue() == queue;
        OwnedFd o = ran ? op.owned() : null;
        try {
            sink.failed(fd, failure);
        } finally {
            if (o != null && o.fd == fd) {
                if (op.failureClosesFd()) o.close(false);
            } else if (ran && !warnedPlainFdLeft) {
                warnedPlainFdLeft = true;
                FailureLog.plainFdLeftOpen(fd, queue.ownership.ownerName());
            }
        }
    }
}
