package dev.ioqueue;

import dev.ioqueue.internal.Interest;
import dev.ioqueue.internal.Ownership;
import dev.ioqueue.internal.PublishedFds;
import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.PollCalls;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@link Fds#awaitReady}: a future of the shared queue, waited for by parking. Whatever races the
 * wait (readiness, the timeout, an interrupt), the future's single completion decides: a wait that
 * gives up cancels it, and if readiness won meanwhile, that readiness is returned.
 */
final class BlockingWait {
    private BlockingWait() {}

    static Set<Event> await(int fd, ReadyEvent event, Duration timeout) throws IOException {
        Objects.requireNonNull(event, "event");
        refuseInLoop("awaitReady", fd);
        if (Thread.currentThread().isInterrupted()) throw interrupted(fd);
        if (timeout != null && (timeout.isZero() || timeout.isNegative())) return readyNow(fd, event);
        // Asked for now, before the shared queue may have to start: a close from here on drops it.
        int askedAt = PublishedFds.settledCloses(fd);
        CompletableFuture<Set<Event>> ready = new FutureWaiter(IoQueue.shared(), fd, event, askedAt).post();
        try {
            if (timeout == null) return ready.get();
            return ready.get(Math.max(0, Ownership.nanos(timeout)), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            // The registration may not even have been made yet: a last look, as poll(2) with a zero timeout.
            return ready.cancel(false) ? readyNow(fd, event) : outcome(ready);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // as a channel leaves it
            if (ready.cancel(false)) throw interrupted(fd);
            return outcome(ready);
        } catch (ExecutionException e) {
            throw rethrow(e.getCause());
        }
    }

    /** Refuses a blocking call on a bad fd, or from inside a loop, which it would stop. */
    static void refuseInLoop(String call, int fd) {
        if (fd < 0) throw new IllegalArgumentException(call + ": fd " + fd + " is negative");
        IoQueue own = IoQueue.currentIfAny();
        if (own != null && !own.isClosed() && own.isInLoop()) {
            throw new IllegalStateException(call + "(fd " + fd + ") blocks, and from inside the loop of thread " + own.owner().getName()
                    + " it would stop that loop: submit an IoOperation, or await the fd, instead");
        }
    }

    /** What {@code poll(2)} with a zero timeout says of {@code fd} for {@code event}. */
    static Set<Event> readyNow(int fd, ReadyEvent event) {
        int wanted = switch (event) {
            case READ -> PollCalls.POLLIN;
            case WRITE -> PollCalls.POLLOUT;
            case PRIORITY_READ -> PollCalls.POLLPRI;
        };
        while (true) {
            int r = PollCalls.readyNow(fd, wanted, Native.threadErrno());
            if (r == -dev.ioqueue.internal.os.Errno.EINTR) continue;
            if (r < 0) throw new SyscallException("poll", fd, -r);
            if ((r & PollCalls.POLLNVAL) != 0) throw new SyscallException("poll", fd, Errno.EBADF.number(), "not open");
            int mask = 0;
            if ((r & PollCalls.POLLIN) != 0) mask |= Interest.READ_BIT;
            if ((r & PollCalls.POLLOUT) != 0) mask |= Interest.WRITE_BIT;
            if ((r & PollCalls.POLLPRI) != 0) mask |= Interest.PRIORITY_BIT;
            if ((r & PollCalls.POLLERR) != 0) mask |= Interest.ERROR_BIT;
            if ((r & PollCalls.POLLHUP) != 0) mask |= Interest.HANGUP_BIT;
            return Interest.events(mask);
        }
    }

    /** The result of a future that has completed. */
    private static Set<Event> outcome(CompletableFuture<Set<Event>> done) throws IOException {
        try {
            return done.get();
        } catch (ExecutionException e) {
            throw rethrow(e.getCause());
        } catch (InterruptedException e) {
            throw new AssertionError("a completed future does not wait", e);
        }
    }

    private static IOException rethrow(Throwable cause) {
        if (cause instanceof RuntimeException r) throw r;
        if (cause instanceof Error err) throw err;
        if (cause instanceof IOException io) return io;
        return new IOException(cause);
    }

    private static InterruptedIOException interrupted(int fd) {
        return new InterruptedIOException("the wait on fd " + fd + " was interrupted");
    }
}
