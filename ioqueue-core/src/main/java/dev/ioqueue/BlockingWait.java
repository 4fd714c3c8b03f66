package dev.ioqueue;

import dev.ioqueue.internal.Ownership;
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
        if (fd < 0) throw new IllegalArgumentException("awaitReady: fd " + fd + " is negative");
        IoQueue own = IoQueue.currentIfAny();
        if (own != null && !own.isClosed() && own.isInLoop()) {
            throw new IllegalStateException("awaitReady(fd " + fd + ") from inside the loop of thread " + own.owner().getName()
                    + " would stop that loop: submit an IoOperation or await the fd instead");
        }
        if (Thread.currentThread().isInterrupted()) throw interrupted(fd);
        CompletableFuture<Set<Event>> ready = IoQueue.shared().whenReady(fd, event);
        try {
            if (timeout == null) return ready.get();
            return ready.get(Math.max(0, Ownership.nanos(timeout)), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            return ready.cancel(false) ? Set.of() : outcome(ready);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // as a channel leaves it
            if (ready.cancel(false)) throw interrupted(fd);
            return outcome(ready);
        } catch (ExecutionException e) {
            throw rethrow(e.getCause());
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
