package dev.ioqueue;

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
     * The operation failed: its syscall failed ({@link SyscallException}), or the fd reported
     * ERROR or HANGUP while a write would still block. By default the failure propagates from the
     * loop's {@code run()}, as a throwing callback's does.
     */
    default void failed(int fd, RuntimeException failure) {
        throw failure;
    }

    /**
     * The queue dropped the operation before it completed: its fd was unregistered or closed through
     * {@link Fds#close}/{@link Handle#close()}, found closed behind the queue's back, or the queue
     * was closed. Does nothing by default.
     */
    default void dropped(int fd) {}
}
