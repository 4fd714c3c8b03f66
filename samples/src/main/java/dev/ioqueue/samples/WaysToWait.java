// The examples of docs/threading.md's "Four ways to wait", kept compiling and running by WaysToWaitSpec.
package dev.ioqueue.samples;

import dev.ioqueue.BlockingIo;
import dev.ioqueue.Event;
import dev.ioqueue.Fds;
import dev.ioqueue.IoOperation;
import dev.ioqueue.IoQueue;
import dev.ioqueue.IoQueueGroup;
import dev.ioqueue.ReadyEvent;
import java.nio.ByteBuffer;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

public final class WaysToWait {
    private WaysToWait() {}

    /** A callback on this thread's loop: many fds, one thread, nothing allocated per message. */
    static long callbackOnALoop(int fd) {
        IoQueue queue = IoQueue.current();
        ByteBuffer buf = ByteBuffer.allocate(64);
        long[] got = {0};
        queue.submit(fd, IoOperation.read(buf, (f, n) -> got[0] = n));
        queue.run();
        return got[0];
    }

    /** A virtual thread per connection, blocking-style: it parks, its carrier serves others. */
    static int virtualThread(int fd) throws Exception {
        int[] got = {0};
        Thread t = Thread.ofVirtual().start(() -> {
            try {
                got[0] = BlockingIo.read(fd, ByteBuffer.allocate(64));
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        t.join();
        return got[0];
    }

    /** A future, from any thread, composed like any CompletableFuture. */
    static Set<Event> future(int fd) {
        CompletableFuture<Set<Event>> ready = IoQueue.shared().whenReady(fd, ReadyEvent.READ);
        return ready.orTimeout(10, java.util.concurrent.TimeUnit.SECONDS).join();
    }

    /** More than one core: a group of loops, each fd served on the loop it was handed to. */
    static long group(int fd) throws Exception {
        try (IoQueueGroup loops = IoQueueGroup.start(2, "loop")) {
            IoQueue queue = loops.next();
            CompletableFuture<Long> got = new CompletableFuture<>();
            ByteBuffer buf = ByteBuffer.allocate(64);
            queue.execute(() -> queue.submit(fd, IoOperation.read(buf, (f, n) -> got.complete(n))));
            return got.get();
        }
    }

    /** Runs each way on a pipe holding {@code "hi"}; returns what each saw. */
    public static String runAll() throws Exception {
        StringBuilder out = new StringBuilder();
        for (int way = 0; way < 4; way++) {
            try (Fds.Pipe p = Fds.pipe()) {
                Fds.write(p.writeFd(), "hi".getBytes(), 0, 2);
                Object seen = switch (way) {
                    case 0 -> callbackOnALoop(p.readFd());
                    case 1 -> virtualThread(p.readFd());
                    case 2 -> future(p.readFd());
                    default -> group(p.readFd());
                };
                out.append(seen).append(' ');
            }
        }
        return out.toString().trim();
    }

    public static void main(String[] args) throws Exception {
        System.out.println(runAll());
        IoQueue.current().close();
    }
}
