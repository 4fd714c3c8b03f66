package dev.ioqueue;

import java.io.IOException;

/**
 * Where a queue sends the failure of an I/O operation whose completion did not handle it (it kept
 * {@link IoCompletion#failed}'s or {@link IoOperation#failed}'s default), as Netty's pipeline tail
 * and kotlinx's {@code CoroutineExceptionHandler} do. Set per queue ({@link IoQueue#onFailure}) or
 * per group; by default the failure is logged through {@code System.Logger} {@code dev.ioqueue}
 * (at DEBUG for a peer gone: ECONNRESET, EPIPE, ECONNABORTED, ENOTCONN, ETIMEDOUT, ECONNREFUSED;
 * WARNING otherwise). Either way, if the operation ran on a {@link Handle}, the handle is closed
 * after the handler returns, as a channel is closed on an I/O error (except for an accept: a
 * listener outlives EMFILE and the like). A plain fd is left open (it is yours; the first such
 * failure on a queue says so at WARNING). A failure never stops the loop unless the handler throws:
 * what it throws goes where a completion's throw goes, out of the loop's {@code run}, or out of
 * {@code submit} when the operation failed in place, inside it.
 *
 * <p>Runs on the queue's owner thread.
 */
@FunctionalInterface
public interface FailureHandler {
    /**
     * An operation on {@code fd} failed with {@code failure} and its completion did not handle it.
     *
     * @param fd the fd the operation ran on
     * @param failure what failed: a {@link SyscallFailure} for a failed syscall
     */
    void failed(int fd, IOException failure);
}
