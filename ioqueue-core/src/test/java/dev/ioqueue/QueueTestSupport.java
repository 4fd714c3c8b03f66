package dev.ioqueue;

import dev.ioqueue.internal.os.Faults;
import org.junit.jupiter.api.AfterEach;

/** Each test leaves its thread without a queue and the fault seam disarmed. */
abstract class QueueTestSupport {
    @AfterEach
    void closeThreadQueue() {
        Faults.clear();
        IoQueue q = IoQueue.currentIfAny();
        if (q != null) q.close();
    }

    /** A waiter that throws {@code t} from its onDropped. */
    static ReadyCallback throwingOnDrop(Throwable t) {
        return new ReadyCallback() {
            @Override
            public void onReady(int fd, java.util.Set<Event> events) {}

            @Override
            public void onDropped(int fd) {
                if (t instanceof RuntimeException r) throw r;
                throw (Error) t;
            }
        };
    }

    /** Runs rounds of {@code q} until {@code done} holds; fails after 10 seconds (a regression hangs no build). */
    /** Writes down what an operation is told, with its name: "op completed 3", "op failed ...", "op dropped". */
    static IoCompletion told(java.util.List<String> seen, String name) {
        return new IoCompletion() {
            @Override
            public void completed(int fd, long result) {
                seen.add(name + " completed " + result);
            }

            @Override
            public void failed(int fd, java.io.IOException failure) {
                seen.add(name + " failed " + failure);
            }

            @Override
            public void dropped(int fd) {
                seen.add(name + " dropped");
            }
        };
    }

    /** Runs {@code body} on a new platform thread (its own queue, if it makes one), waits, and rethrows what it threw. */
    static void onNewThread(Runnable body) throws InterruptedException {
        java.util.List<Throwable> failure = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        Thread t = new Thread(body);
        t.setUncaughtExceptionHandler((th, e) -> failure.add(e));
        t.start();
        t.join();
        if (!failure.isEmpty()) throw new AssertionError(failure.get(0));
    }

    static void runUntil(IoQueue q, java.util.function.BooleanSupplier done) {
        long deadline = System.nanoTime() + java.time.Duration.ofSeconds(10).toNanos();
        while (!done.getAsBoolean()) {
            org.junit.jupiter.api.Assertions.assertTrue(System.nanoTime() < deadline, "timed out");
            q.runOnce(java.time.Duration.ofMillis(100));
        }
    }

    /**
     * On another thread: closes a pipe's read end ({@code closeReadEnd}) and {@code writeEnd}, makes a
     * new pipe at once (which usually gets the read end's number again) and writes "new" into it.
     */
    static Fds.Pipe remadeElsewhere(Runnable closeReadEnd, int writeEnd) {
        java.util.concurrent.atomic.AtomicReference<Fds.Pipe> made = new java.util.concurrent.atomic.AtomicReference<>();
        java.util.concurrent.atomic.AtomicReference<Throwable> failed = new java.util.concurrent.atomic.AtomicReference<>();
        Thread other = new Thread(() -> {
            try {
                closeReadEnd.run();
                Fds.close(writeEnd);
                Fds.Pipe p = Fds.pipe();
                made.set(p);
                Fds.write(p.writeFd(), java.nio.ByteBuffer.wrap("new".getBytes()));
            } catch (Throwable t) {
                failed.set(t);
            }
        });
        other.start();
        try {
            other.join(10_000);
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        org.junit.jupiter.api.Assertions.assertFalse(other.isAlive(), "the closing thread is stuck");
        if (failed.get() != null) throw new AssertionError(failed.get());
        return made.get();
    }
}
