package dev.ioqueue;

import java.io.IOException;

/**
 * What an {@link IoOperation} made by one of its factories ({@link IoOperation#read(java.nio.ByteBuffer,
 * IoCompletion)} and the others) reports to. Runs on the queue's owner thread.
 */
@FunctionalInterface
public interface IoCompletion {
    /**
     * The operation is done.
     *
     * @param fd the fd it ran on
     * @param result what the operation returns: a byte count, {@link Fds#EOF} for a read at
     *     end-of-file, the new fd for an accept
     */
    void completed(int fd, long result);

    /**
     * The operation failed: its syscall failed (a {@link SyscallFailure}: a peer reset is a
     * {@link SyscallSocketException} with {@link Errno#ECONNRESET}), or the fd reported ERROR or
     * HANGUP while a write would still block (EPIPE). By default the failure goes to the queue's
     * {@link FailureHandler} (logged), and a {@link Handle} the operation ran on is closed (not the
     * listener of an accept); the loop goes on.
     */
    default void failed(int fd, IOException failure) {
        IoQueue.unhandledFailure(fd, failure);
    }

    /**
     * The queue dropped the operation before it completed: its {@link Handle} was closed, its fd
     * unregistered or closed through {@link Fds#close}, or the queue was closed. Does nothing by
     * default.
     */
    default void dropped(int fd) {}
}
