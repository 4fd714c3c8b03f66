package dev.ioqueue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/** A platform thread running its own queue until closed: a loop for tests to post work to. */
final class LoopThread implements AutoCloseable {
    final IoQueue queue;
    private final Thread thread;
    private final CompletableFuture<Void> ended = new CompletableFuture<>();

    LoopThread(String name) {
        this(name, null);
    }

    /** A loop whose queue runs on {@code backend} (null: as the system property says). */
    LoopThread(String name, Backend backend) {
        CompletableFuture<IoQueue> made = new CompletableFuture<>();
        thread = Thread.ofPlatform().name(name).daemon(true).start(() -> {
            try {
                IoQueue q = IoQueue.create(backend);
                Cancellable hold = q.hold();
                made.complete(q);
                q.run();
                hold.cancel();
                q.close();
                ended.complete(null);
            } catch (Throwable t) {
                made.completeExceptionally(t);
                ended.completeExceptionally(t);
            }
        });
        queue = made.join();
    }

    /** Runs {@code task} on the loop and waits for its result. */
    <T> T call(Callable<T> task) throws Exception {
        CompletableFuture<T> f = new CompletableFuture<>();
        queue.execute(() -> {
            try {
                f.complete(task.call());
            } catch (Throwable t) {
                f.completeExceptionally(t);
            }
        });
        return f.get(10, TimeUnit.SECONDS);
    }

    /** Stops the loop and closes its queue (and the handles bound to it); rethrows what the loop threw. */
    @Override
    public void close() throws Exception {
        queue.stop();
        ended.get(10, TimeUnit.SECONDS);
    }
}
