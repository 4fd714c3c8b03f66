package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What an application sees is the same on both backends (issue 21 item 4): a write the socket can
 * take completes as promptly on io_uring as on epoll, so back-pressure measured in bytes not yet
 * written looks the same.
 */
class BackendParityTest {
    private static final int LINE = 16 * 1024;

    @ParameterizedTest
    @EnumSource(Backend.class)
    void aWriteTheSocketCanTakeCompletesBeforeSubmitReturns(Backend backend) throws Exception {
        try (LoopThread loop = new LoopThread("parity-" + backend, backend); Fds.SocketPair pair = Fds.socketPair()) {
            Handle server = Handle.of(pair.first(), loop.queue);
            long[] completedWith = loop.call(() -> {
                long[] done = {-1};
                loop.queue.submit(server, IoOperation.writeFully(ByteBuffer.allocateDirect(LINE), (fd, n) -> done[0] = n));
                return done; // read right after submit returned
            });
            assertEquals(backend, loop.queue.backend());
            assertEquals(LINE, completedWith[0], "completed in place, before submit returned");
        }
    }

    // outside round 49: on io_uring, a read of an operation's own (a subclass's syscall, Kotlin's
    // awaitIo) on a handle whose ring had read ahead waited forever: the OS never reports the bytes
    // the ring took. It now fails at once with an IOException saying why (on epoll it reads them),
    // whether the bytes were kept before it was submitted or arrived while it waited; a library
    // read gets them afterwards, none lost.
    @ParameterizedTest
    @EnumSource(Backend.class)
    void aReadOfAnOperationsOwnOnAHandleReadsOrFailsAtOnceNeverHangs(Backend backend) throws Exception {
        try (LoopThread loop = new LoopThread("own-read-" + backend, backend)) {
            for (boolean keptBefore : new boolean[] {true, false}) { // else the bytes come while it waits
                try (Fds.SocketPair pair = Fds.socketPair()) {
                    Handle h = Handle.of(pair.first(), loop.queue);
                    ByteBuffer got = ByteBuffer.allocate(16);
                    CompletableFuture<Long> first = new CompletableFuture<>();
                    Fds.write(pair.second(), new byte[] {'A'}, 0, 1);
                    loop.call(() -> { // it finds a byte at once: on io_uring the ring reads ahead from now on
                        loop.queue.submit(h, IoOperation.read(got, (fd, n) -> first.complete(n)));
                        return null;
                    });
                    assertEquals(1L, first.get(5, TimeUnit.SECONDS));
                    if (keptBefore) {
                        Fds.write(pair.second(), "BC".getBytes(), 0, 2);
                        Thread.sleep(50); // the ring takes them meanwhile
                    }
                    CompletableFuture<Object> own = new CompletableFuture<>();
                    loop.call(() -> {
                        loop.queue.submit(h, new IoOperation(ReadyEvent.READ) {
                            @Override
                            protected long attempt(int fd) {
                                return Fds.read(fd, new byte[16], 0, 16);
                            }

                            @Override
                            protected void completed(int fd, long n) {
                                own.complete(n);
                            }

                            @Override
                            protected void failed(int fd, IOException e) {
                                own.complete(e);
                            }
                        });
                        return null;
                    });
                    if (!keptBefore) {
                        Thread.sleep(20);
                        Fds.write(pair.second(), "BC".getBytes(), 0, 2);
                    }
                    Object outcome = own.get(5, TimeUnit.SECONDS);
                    // Bytes that come while it waits: the ring's read and the operation's wait race for
                    // them; either reads them whole, and the operation never waits for what the ring took.
                    if (backend == Backend.EPOLL || (!keptBefore && Long.valueOf(2).equals(outcome))) {
                        assertEquals(2L, outcome, "kept before: " + keptBefore);
                        continue;
                    }
                    assertTrue(outcome instanceof IOException e && e.getMessage().contains("fd " + pair.first())
                            && e.getMessage().contains("read ahead"), "kept before: " + keptBefore + ": " + outcome);
                    CompletableFuture<Long> library = new CompletableFuture<>();
                    got.clear();
                    loop.call(() -> {
                        loop.queue.submit(h, IoOperation.read(got, (fd, n) -> library.complete(n)));
                        return null;
                    });
                    assertEquals(2L, library.get(5, TimeUnit.SECONDS));
                    assertEquals("BC", new String(got.array(), 0, 2));
                    loop.call(() -> {
                        loop.queue.unregister(h);
                        return null;
                    });
                }
            }
        }
    }

    // guards (outside rounds 39 and 40): a handle closed with a waiter, a ring read and a ring write
    // whose drops all throw: on io_uring the write's throw came nested under the read's (flat on
    // epoll), where a caller looking at the first failure's suppressed ones did not find it; and
    // the two backends told the three in different orders
    @ParameterizedTest
    @EnumSource(Backend.class)
    void aCloseWhoseDropsAllThrowReportsEachOnTheFirstFailureInOneOrder(Backend backend) throws Exception {
        Fds.SocketPair pair = Fds.socketPair(); // its first end goes to the handle, which closes it
        try (LoopThread loop = new LoopThread("drops-" + backend, backend)) {
            Handle h = Handle.of(pair.first(), loop.queue);
            Throwable thrown = loop.call(() -> {
                pendingWithThrowingDrops(loop.queue, h, "");
                try {
                    h.close();
                    return null;
                } catch (Throwable t) {
                    return t;
                }
            });
            assertEquals(List.of("wait", "write", "read"), flat(thrown), "each drop's throw, on the first one, in epoll's order");
        } finally {
            Fds.close(pair.second());
        }
    }

    // guards (outside round 40): a queue closed with two such handles laid each handle's failures on
    // that handle's first, one level down from the one that propagates
    @ParameterizedTest
    @EnumSource(Backend.class)
    void aQueueCloseLaysEveryHandlesFailuresFlatOnTheFirst(Backend backend) throws Exception {
        Fds.SocketPair one = Fds.socketPair();
        Fds.SocketPair two = Fds.socketPair(); // the first ends go to the handles, which close them
        try {
            Throwable thrown = onFreshThread(() -> {
                IoQueue q = IoQueue.create(backend);
                pendingWithThrowingDrops(q, Handle.of(one.first(), q), "1 ");
                pendingWithThrowingDrops(q, Handle.of(two.first(), q), "2 ");
                try {
                    q.close();
                    return null;
                } catch (Throwable t) {
                    return t;
                }
            });
            List<String> all = flat(thrown);
            all.sort(null);
            assertEquals(List.of("1 read", "1 wait", "1 write", "2 read", "2 wait", "2 write"), all, "every drop's throw on the first one");
        } finally {
            Fds.close(one.second());
            Fds.close(two.second());
        }
    }

    /** A write that waits (more than the socket takes), a read and a PRIORITY_READ waiter on {@code h}, each throwing {@code prefix + what} when dropped. */
    private static void pendingWithThrowingDrops(IoQueue q, Handle h, String prefix) {
        byte[] big = new byte[8 << 20];
        q.submit(h, IoOperation.writeFully(big, 0, big.length, throwingWhenDropped(prefix + "write")));
        q.submit(h, IoOperation.read(ByteBuffer.allocate(10), throwingWhenDropped(prefix + "read")));
        q.await(h, ReadyEvent.PRIORITY_READ, new ReadyCallback() {
            @Override
            public void onReady(int fd, Set<Event> events) { }

            @Override
            public void onDropped(int fd) {
                throw new IllegalStateException(prefix + "wait");
            }
        });
    }

    /** The message of {@code thrown}, then those suppressed onto it (not deeper). */
    private static List<String> flat(Throwable thrown) {
        assertTrue(thrown != null, "the drops' throws reach the close");
        List<String> all = new ArrayList<>(List.of(thrown.getMessage()));
        for (Throwable t : thrown.getSuppressed()) all.add(t.getMessage());
        return all;
    }

    private static <T> T onFreshThread(java.util.concurrent.Callable<T> task) throws Exception {
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread.ofPlatform().start(() -> {
            try {
                result.complete(task.call());
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        }).join();
        return result.get();
    }

    private static IoCompletion throwingWhenDropped(String what) {
        return new IoCompletion() {
            @Override
            public void completed(int fd, long result) { }

            @Override
            public void dropped(int fd) {
                throw new IllegalStateException(what);
            }
        };
    }

    /**
     * guards (outside, round 4): two writes in a row from one read's completion, on a socket with
     * room: both accepted and written in order on both backends (a write sent to the ring at once
     * left the first pending on io_uring, which refused the second)
     */
    @ParameterizedTest
    @EnumSource(Backend.class)
    void twoWritesInARowFromACompletionAreBothTaken(Backend backend) throws Exception {
        try (LoopThread loop = new LoopThread("two-writes-" + backend, backend);
             Fds.SocketPair in = Fds.socketPair(); Fds.SocketPair out = Fds.socketPair()) {
            Handle reader = Handle.of(in.first(), loop.queue);
            Handle writer = Handle.of(out.first(), loop.queue);
            CompletableFuture<String> done = new CompletableFuture<>();
            loop.queue.execute(() -> loop.queue.submit(reader, IoOperation.read(ByteBuffer.allocateDirect(8), (fd, n) -> {
                try {
                    loop.queue.submit(writer, IoOperation.writeFully(ByteBuffer.wrap("A".getBytes()), (f, c) -> { }));
                    loop.queue.submit(writer, IoOperation.writeFully(ByteBuffer.wrap("B".getBytes()), (f, c) -> done.complete("both")));
                } catch (RuntimeException e) {
                    done.complete(e.toString());
                }
            })));
            Fds.write(in.second(), ByteBuffer.wrap("x".getBytes()));
            assertEquals("both", done.get(10, TimeUnit.SECONDS));
            ByteBuffer got = ByteBuffer.allocate(8);
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (got.position() < 2 && System.nanoTime() < deadline) {
                if (Fds.read(out.second(), got) == Fds.WOULD_BLOCK) Thread.sleep(1);
            }
            assertEquals("AB", new String(got.array(), 0, got.position()));
        }
    }

    /**
     * guards (outside, round 5): on io_uring the second write settles the first, whose completion
     * may write again or close the handle. A write made there is settled in turn (all four in
     * order, as epoll writes them in place); a close there makes the second write refused as on a
     * closed handle (it went to the fd's next file)
     */
    @ParameterizedTest
    @EnumSource(Backend.class)
    void aSettledWritesCompletionThatWritesOrClosesBehavesAsOnEpoll(Backend backend) throws Exception {
        for (boolean close : new boolean[] {false, true}) {
            Fds.SocketPair in = Fds.socketPair(); // the first ends are closed by their handles
            Fds.SocketPair out = Fds.socketPair();
            try (LoopThread loop = new LoopThread("settle-" + backend, backend)) {
                Handle reader = Handle.of(in.first(), loop.queue);
                Handle writer = Handle.of(out.first(), loop.queue);
                CompletableFuture<String> done = new CompletableFuture<>();
                loop.queue.execute(() -> loop.queue.submit(reader, IoOperation.read(ByteBuffer.allocateDirect(8), (fd, n) -> {
                    StringBuilder log = new StringBuilder();
                    loop.queue.submit(writer, IoOperation.writeFully(ByteBuffer.wrap("A".getBytes()), (f, c) -> {
                        loop.queue.submit(writer, IoOperation.writeFully(ByteBuffer.wrap("X".getBytes()), (f2, c2) -> { }));
                        if (close) writer.close(); // a write, then a close: the write goes out first, as on epoll
                    }));
                    for (String w : new String[] {"B", "C"}) {
                        try {
                            loop.queue.submit(writer, IoOperation.writeFully(ByteBuffer.wrap(w.getBytes()), (f, c) -> { }));
                            log.append(w);
                        } catch (IllegalStateException e) {
                            log.append(e.getMessage().contains("closed") ? "-closed" : "-" + e.getMessage());
                        }
                    }
                    done.complete(log.toString());
                })));
                Fds.write(in.second(), ByteBuffer.wrap("x".getBytes()));
                assertEquals(close ? "-closed-closed" : "BC", done.get(10, TimeUnit.SECONDS), "close=" + close);
                ByteBuffer got = ByteBuffer.allocate(8);
                long deadline = System.nanoTime() + 10_000_000_000L;
                int n = 0;
                while (System.nanoTime() < deadline && (n = Fds.read(out.second(), got)) != Fds.EOF && got.position() < (close ? 2 : 4)) {
                    if (n == Fds.WOULD_BLOCK) Thread.sleep(1);
                }
                assertEquals(close ? "AX" : "AXBC", new String(got.array(), 0, got.position()), "close=" + close);
            } finally {
                Fds.close(in.second());
                Fds.close(out.second());
            }
        }
    }

    /**
     * guards (found by the allocation probe): after {@code runOnce} returned, closing a handle on
     * the owner thread ran, on io_uring, the completion of a write made in the round's read
     * completion (still with the ring) inside the close, after the other handles it acts on were
     * closed, so its re-submitted read threw out of {@code close}. On epoll that write completed
     * in place, within the round. Now a close on the owner thread first settles the ring's writes
     * made since the last enter: the same completions, told before the close, on both backends.
     */
    @ParameterizedTest
    @EnumSource(Backend.class)
    void aCloseAfterTheRoundSeesTheRoundsWritesCompleted(Backend backend) throws Exception {
        String outcome = onItsOwnThread("close-after-round-" + backend, 10, () -> {
            try (IoQueue queue = IoQueue.create(backend); Fds.Pipe one = Fds.pipe(); Fds.Pipe two = Fds.pipe()) {
                Handle in = Handle.of(Fds.dup(one.readFd()), queue);
                Handle next = Handle.of(Fds.dup(two.writeFd()), queue);
                ByteBuffer buffer = ByteBuffer.allocateDirect(1);
                StringBuilder log = new StringBuilder();
                IoOperation[] ops = new IoOperation[2];
                ops[0] = IoOperation.read(buffer, new IoCompletion() {
                    public void completed(int fd, long n) {
                        log.append("read ");
                        buffer.flip();
                        queue.submit(next, ops[1]);
                    }

                    public void dropped(int fd) {
                        log.append("read-dropped ");
                    }
                });
                ops[1] = IoOperation.writeFully(buffer, (fd, n) -> {
                    log.append("written ");
                    buffer.clear();
                    queue.submit(in, ops[0]);
                });
                queue.submit(in, ops[0]);
                Fds.write(one.writeFd(), ByteBuffer.wrap(new byte[] {7}));
                while (log.isEmpty()) queue.runOnce(Duration.ofSeconds(10));
                in.close(); // as the benchmarks' rings end: reads first, then writes
                next.close();
                ByteBuffer got = ByteBuffer.allocate(4);
                Fds.read(two.readFd(), got);
                return log.toString().strip() + " | peer got " + got.position() + " byte";
            }
        });
        assertEquals("read written read-dropped | peer got 1 byte", outcome);
    }

    /**
     * guards (cold review): a queue closed after {@code runOnce} returned dropped, on io_uring, the
     * write its last round's read completion made (still with the ring); epoll had written it in
     * place; a close that let it go out only while letting go of its fd ran its completion in a
     * queue already closed (its task refused). Now the queue's close settles it first, while the
     * queue is open, and a completion settled so that tries {@code runOnce} is refused as inside
     * the loop.
     */
    @ParameterizedTest
    @EnumSource(Backend.class)
    void aQueueClosedAfterTheRoundSendsTheRoundsWrites(Backend backend) throws Exception {
        String outcome = onItsOwnThread("queue-close-after-round-" + backend, 10, () -> {
            try (Fds.Pipe one = Fds.pipe(); Fds.Pipe two = Fds.pipe()) {
                IoQueue queue = IoQueue.create(backend);
                Handle in = Handle.of(Fds.dup(one.readFd()), queue);
                Handle next = Handle.of(Fds.dup(two.writeFd()), queue);
                StringBuilder log = new StringBuilder();
                ByteBuffer buffer = ByteBuffer.allocateDirect(1);
                queue.submit(in, IoOperation.read(buffer, (fd, n) -> {
                    log.append("read ");
                    buffer.flip();
                    queue.submit(next, IoOperation.writeFully(buffer, (f, c) -> {
                        log.append("written ");
                        try {
                            queue.runOnce(Duration.ZERO);
                            log.append("re-entered ");
                        } catch (IllegalStateException refused) {
                            log.append("runOnce-refused ");
                        }
                        try {
                            queue.execute(() -> log.append("task-ran "));
                        } catch (RuntimeException refused) {
                            log.append("execute-refused ");
                        }
                    }));
                }));
                Fds.write(one.writeFd(), ByteBuffer.wrap(new byte[] {7}));
                while (log.isEmpty()) queue.runOnce(Duration.ofSeconds(10));
                queue.close();
                ByteBuffer got = ByteBuffer.allocate(4);
                Fds.read(two.readFd(), got);
                return log.toString().strip() + " | peer got " + got.position() + " byte";
            }
        });
        assertEquals("read written runOnce-refused task-ran | peer got 1 byte", outcome);
    }

    /**
     * guards (outside, round 6): on io_uring a second write settles the first, whose completion
     * threw: the throw came out of the second write's submit, which so never took it (never told,
     * its bytes never sent); on epoll the throw came out of the first write's own submit. Now a
     * completion run out of turn throws out of the loop, as any completion's throw does: the second
     * write goes out on both backends, and the throw is seen once.
     */
    @ParameterizedTest
    @EnumSource(Backend.class)
    void aSecondWriteGoesOutWhenTheFirstsCompletionThrows(Backend backend) throws Exception {
        String outcome = onItsOwnThread("throwing-first-" + backend, 20, () -> {
            try (IoQueue queue = IoQueue.create(backend); Fds.Pipe in = Fds.pipe(); Fds.Pipe out = Fds.pipe()) {
                Handle reader = Handle.of(Fds.dup(in.readFd()), queue);
                Handle writer = Handle.of(Fds.dup(out.writeFd()), queue);
                StringBuilder log = new StringBuilder();
                queue.submit(reader, IoOperation.read(ByteBuffer.allocateDirect(8), (fd, n) -> {
                    try {
                        queue.submit(writer, IoOperation.writeFully(ByteBuffer.wrap("11".getBytes()), (f, c) -> {
                            throw new IllegalStateException("boom");
                        }));
                    } catch (IllegalStateException e) {
                        log.append("thrown-by-first ");
                    }
                    queue.submit(writer, IoOperation.writeFully(ByteBuffer.wrap("22".getBytes()), (f, c) -> log.append("second-written ")));
                }));
                Fds.write(in.writeFd(), ByteBuffer.wrap("x".getBytes()));
                long deadline = System.nanoTime() + 10_000_000_000L;
                while (!log.toString().contains("second-written") && System.nanoTime() < deadline) {
                    try {
                        queue.runOnce(Duration.ofMillis(100));
                    } catch (IllegalStateException e) {
                        log.append("thrown-by-loop ");
                    }
                }
                queue.runOnce(Duration.ZERO); // nothing more is thrown
                ByteBuffer got = ByteBuffer.allocate(8);
                Fds.read(out.readFd(), got);
                String thrown = log.toString().contains("thrown-by") ? "boom once" : "boom never";
                if (log.indexOf("thrown-by") != log.lastIndexOf("thrown-by")) thrown = "boom twice";
                reader.close();
                writer.close();
                return thrown + (log.toString().contains("second-written") ? ", second written" : "")
                        + " | peer got " + new String(got.array(), 0, got.position());
            }
        });
        assertEquals("boom once, second written | peer got 1122", outcome);
    }

    /**
     * guards (review): a completion settled by a close made around the loop throws out of the
     * next runOnce; if the queue is closed instead, out of its close (it was lost there). On
     * epoll the same completion ran in place and threw out of its write's submit. Seen once, on
     * both backends, and the bytes went out.
     */
    @ParameterizedTest
    @EnumSource(Backend.class)
    void aThrowOfACompletionSettledAroundTheLoopComesOutOfTheQueuesClose(Backend backend) throws Exception {
        String outcome = onItsOwnThread("settled-throw-" + backend, 10, () -> {
            try (Fds.Pipe in = Fds.pipe(); Fds.Pipe out = Fds.pipe(); Fds.Pipe other = Fds.pipe()) {
                IoQueue queue = IoQueue.create(backend);
                Handle reader = Handle.of(Fds.dup(in.readFd()), queue);
                Handle writer = Handle.of(Fds.dup(out.writeFd()), queue);
                Handle unrelated = Handle.of(Fds.dup(other.readFd()), queue);
                StringBuilder log = new StringBuilder();
                queue.submit(reader, IoOperation.read(ByteBuffer.allocateDirect(8), (fd, n) -> {
                    log.append("read ");
                    try {
                        queue.submit(writer, IoOperation.writeFully(ByteBuffer.wrap("w".getBytes()), (f, c) -> {
                            throw new IllegalStateException("boom");
                        }));
                    } catch (IllegalStateException e) {
                        log.append("boom-at-submit ");
                    }
                }));
                Fds.write(in.writeFd(), ByteBuffer.wrap("x".getBytes()));
                while (log.isEmpty()) queue.runOnce(Duration.ofSeconds(10));
                unrelated.close(); // settles the round's writes
                log.append("closed ");
                try {
                    queue.close();
                } catch (IllegalStateException e) {
                    log.append("boom-at-queue-close ");
                }
                ByteBuffer got = ByteBuffer.allocate(4);
                Fds.read(out.readFd(), got);
                String seen = log.toString();
                int times = seen.split("boom", -1).length - 1;
                return "boom seen " + times + " time(s) | peer got " + new String(got.array(), 0, got.position());
            }
        });
        assertEquals("boom seen 1 time(s) | peer got w", outcome);
    }

    /**
     * guards (outside, rounds 7 and 8): on io_uring a write made in a round that then threw left
     * only when the loop ran again (never, if it did not); epoll had written it in place. Now the
     * throw's round gives its writes to the kernel before the throw leaves the loop; and the
     * queue's close, which runs their completions, rethrows what they throw (it was lost).
     */
    @ParameterizedTest
    @EnumSource(Backend.class)
    void aRoundThatThrowsStillSendsItsWrites(Backend backend) throws Exception {
        String outcome = onItsOwnThread("throwing-round-" + backend, 10, () -> {
            try (Fds.Pipe in = Fds.pipe(); Fds.Pipe out = Fds.pipe()) {
                IoQueue queue = IoQueue.create(backend);
                Handle reader = Handle.of(Fds.dup(in.readFd()), queue);
                Handle writer = Handle.of(Fds.dup(out.writeFd()), queue);
                queue.submit(reader, IoOperation.read(ByteBuffer.allocateDirect(8), (fd, n) -> {
                    try {
                        queue.submit(writer, IoOperation.writeFully(ByteBuffer.wrap("w".getBytes()), (f, c) -> {
                            throw new IllegalStateException("write's completion");
                        }));
                    } catch (IllegalStateException inPlace) {
                        // epoll: the completion ran inside submit and threw there, as its docs say
                    }
                    throw new IllegalStateException("boom");
                }));
                Fds.write(in.writeFd(), ByteBuffer.wrap("x".getBytes()));
                String thrown = "none";
                try {
                    for (int i = 0; i < 100; i++) queue.runOnce(Duration.ofMillis(100));
                } catch (IllegalStateException e) {
                    thrown = e.getMessage();
                }
                ByteBuffer got = ByteBuffer.allocate(4);
                Fds.read(out.readFd(), got); // before the loop runs again
                String closed = "close ok";
                try {
                    queue.close(); // runs the write's completion on io_uring (epoll ran it in place): it throws there
                } catch (IllegalStateException e) {
                    closed = "close threw " + e.getMessage();
                }
                return thrown + " | peer got " + new String(got.array(), 0, got.position()) + " | " + closed;
            }
        });
        String expected = backend == Backend.EPOLL ? "boom | peer got w | close ok" : "boom | peer got w | close threw write's completion";
        assertEquals(expected, outcome, "the write's completion throws once: in place on epoll, at the close on io_uring");
    }

    /** Runs {@code scenario} on a new platform thread (whose queue it makes and closes) and returns what it reports. */
    private static String onItsOwnThread(String name, int seconds, java.util.concurrent.Callable<String> scenario) throws Exception {
        CompletableFuture<String> outcome = new CompletableFuture<>();
        Thread.ofPlatform().name(name).start(() -> {
            try {
                outcome.complete(scenario.call());
            } catch (Throwable t) {
                outcome.completeExceptionally(t);
            }
        });
        return outcome.get(seconds, TimeUnit.SECONDS);
    }

    /**
     * guards: on io_uring a readiness wait never saw bytes the ring had read ahead (the OS does not
     * report what the ring already took), so "wait readable, then read" stalled.
     */
    @ParameterizedTest
    @EnumSource(Backend.class)
    void aReadinessWaitSeesBytesTheRingReadAheadAndBytesThatCameAfter(Backend backend) throws Exception {
        try (LoopThread loop = new LoopThread("kept-" + backend, backend); Fds.SocketPair pair = Fds.socketPair()) {
            Handle h = Handle.of(pair.first(), loop.queue);
            Fds.write(pair.second(), ByteBuffer.allocateDirect(100));
            CompletableFuture<Long> first = new CompletableFuture<>();
            loop.queue.execute(() -> loop.queue.submit(h, IoOperation.read(ByteBuffer.allocateDirect(10), (fd, n) -> first.complete(n))));
            assertEquals(10L, first.get(10, TimeUnit.SECONDS));
            // 90 bytes left: kept by the ring on io_uring, in the socket on epoll
            CompletableFuture<Set<Event>> kept = new CompletableFuture<>();
            loop.queue.execute(() -> loop.queue.await(h, ReadyEvent.READ, (fd, events) -> kept.complete(events)));
            assertTrue(kept.get(10, TimeUnit.SECONDS).contains(Event.READ));
            CompletableFuture<Long> rest = new CompletableFuture<>();
            loop.queue.execute(() -> loop.queue.submit(h, IoOperation.readFully(ByteBuffer.allocateDirect(90), (fd, n) -> rest.complete(n))));
            assertEquals(90L, rest.get(10, TimeUnit.SECONDS));
            // nothing left; a wait registered now hears of bytes that come later (the ring may take them first)
            CompletableFuture<Set<Event>> later = new CompletableFuture<>();
            loop.queue.execute(() -> loop.queue.await(h, ReadyEvent.READ, (fd, events) -> later.complete(events)));
            Thread.sleep(50);
            assertFalse(later.isDone(), "woken with nothing to read");
            Fds.write(pair.second(), ByteBuffer.allocateDirect(5));
            assertTrue(later.get(10, TimeUnit.SECONDS).contains(Event.READ));
            assertEquals(Set.of(Event.READ), Fds.awaitReady(h, ReadyEvent.READ, Duration.ofSeconds(10)), "a blocking wait too");
        }
    }

    /**
     * guards: a fan-out server dropped 8–10 of 11 clients as too slow on io_uring and none on epoll
     * (ring writes completed only a round later, so its count of bytes not yet written passed its cap).
     */
    @ParameterizedTest
    @EnumSource(Backend.class)
    void aFanOutServerDropsNoClientThatKeepsReading(Backend backend) throws Exception {
        int clients = 10;
        int lines = 200;
        int burst = 6; // 96 KiB per client per round, in a socket buffer of a MiB: the socket takes it at once
        long cap = 64 * 1024;
        List<Fds.SocketPair> pairs = new ArrayList<>();
        List<CompletableFuture<Long>> received = new ArrayList<>();
        try (LoopThread loop = new LoopThread("fan-out-" + backend, backend)) {
            List<Writer> writers = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                Fds.SocketPair p = Fds.socketPair();
                pairs.add(p);
                SocketOptions.set(p.first(), StandardSocketOptions.SO_SNDBUF, 1 << 20);
                SocketOptions.set(p.second(), StandardSocketOptions.SO_RCVBUF, 1 << 20);
                writers.add(new Writer(Handle.of(p.first(), loop.queue), cap));
                received.add(readAll(p.second(), (long) lines * LINE));
            }
            CompletableFuture<Void> sent = new CompletableFuture<>();
            loop.queue.execute(new Runnable() {
                int produced;

                @Override
                public void run() {
                    for (int n = 0; n < burst && produced < lines; n++, produced++) {
                        for (Writer w : writers) w.send();
                    }
                    if (produced < lines) loop.queue.schedule(Duration.ofMillis(10), this);
                    else sent.complete(null);
                }
            });
            sent.get(30, TimeUnit.SECONDS);
            List<Integer> dropped = loop.call(() -> {
                List<Integer> d = new ArrayList<>();
                for (int i = 0; i < clients; i++) if (writers.get(i).dropped) d.add(i);
                return d;
            });
            assertEquals(List.of(), dropped, "no client that keeps reading is dropped as too slow");
            for (int i = 0; i < clients; i++) {
                assertEquals((long) lines * LINE, received.get(i).get(30, TimeUnit.SECONDS), "client " + i + " got every line");
            }
        } finally {
            for (Fds.SocketPair p : pairs) Fds.close(p.second());
        }
    }

    /** One client's output: lines queued behind the write in flight; dropped once its unwritten bytes pass the cap. */
    private static final class Writer implements IoCompletion {
        private final Handle connection;
        private final long cap;
        private final ArrayDeque<ByteBuffer> queued = new ArrayDeque<>();
        private final IoOperation[] op = new IoOperation[1];
        private long unwritten;
        private boolean writing;
        boolean dropped;

        Writer(Handle connection, long cap) {
            this.connection = connection;
            this.cap = cap;
        }

        void send() {
            if (dropped) return; // a dropped client gets nothing more
            ByteBuffer line = ByteBuffer.allocateDirect(LINE);
            unwritten += LINE;
            if (unwritten > cap) {
                dropped = true;
                connection.close(); // as a server drops a slow client: its reader sees the end at once
                return;
            }
            queued.add(line);
            if (!writing) next();
        }

        private void next() {
            ByteBuffer line = queued.poll();
            if (line == null) return;
            writing = true;
            IoQueue.currentIfAny().submit(connection, IoOperation.writeFully(line, this));
        }

        @Override
        public void completed(int fd, long result) {
            writing = false;
            unwritten -= result;
            next();
        }

        @Override
        public void failed(int fd, IOException failure) {
            throw new AssertionError("write failed", failure);
        }
    }

    /** A virtual thread that reads {@code expected} bytes (or to end-of-file) from {@code fd}: how many came. */
    private static CompletableFuture<Long> readAll(int fd, long expected) {
        CompletableFuture<Long> total = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            AtomicLong got = new AtomicLong();
            ByteBuffer buf = ByteBuffer.allocateDirect(64 * 1024);
            try {
                while (got.get() < expected) {
                    buf.clear();
                    int n = BlockingIo.read(fd, buf);
                    if (n == Fds.EOF) break;
                    got.addAndGet(n);
                }
                total.complete(got.get());
            } catch (Throwable t) {
                total.completeExceptionally(t);
            }
        });
        return total;
    }

    // Outside round 17: on io_uring a read with room for all the bytes the ring kept got only the
    // first CQE's chunk of them (1 of 261 one-byte messages); read(2) on epoll takes all 261. Two
    // sockets' messages interleave, so their bytes do not lie side by side in the ring's buffers
    @ParameterizedTest
    @EnumSource(Backend.class)
    void aReadWithRoomTakesEveryByteAlreadyThereAsReadDoes(Backend backend) throws Exception {
        try (LoopThread loop = new LoopThread("read-all-" + backend, backend);
             Fds.SocketPair one = Fds.socketPair(); Fds.SocketPair two = Fds.socketPair()) {
            Handle[] handles = {Handle.of(one.first(), loop.queue), Handle.of(two.first(), loop.queue)};
            int[] peers = {one.second(), two.second()};
            for (int k = 0; k < 2; k++) {
                Handle h = handles[k];
                CompletableFuture<Long> first = new CompletableFuture<>();
                loop.queue.execute(() -> loop.queue.submit(h, IoOperation.read(ByteBuffer.allocate(1), (fd, n) -> first.complete(n))));
                TestFds.writeByte(peers[k], 0);
                assertEquals(1L, first.get(10, TimeUnit.SECONDS)); // on io_uring the ring reads ahead from now on
            }
            for (int i = 1; i <= 261; i++) {
                TestFds.writeByte(peers[0], i); // 261 messages on each socket, each its own write, interleaved
                TestFds.writeByte(peers[1], i);
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (backend == Backend.IO_URING && loop.queue.stats().keptBytes() < 2 * 261) {
                assertTrue(System.nanoTime() < deadline, "the ring kept " + loop.queue.stats().keptBytes() + " bytes");
                Thread.sleep(1);
            }
            for (Handle h : handles) {
                ByteBuffer all = ByteBuffer.allocate(1000);
                CompletableFuture<Long> read = new CompletableFuture<>();
                loop.queue.execute(() -> loop.queue.submit(h, IoOperation.read(all, (fd, n) -> read.complete(n))));
                assertEquals(261L, read.get(10, TimeUnit.SECONDS), "one read, every byte there");
                for (int i = 0; i < 261; i++) assertEquals((byte) (i + 1), all.get(i));
            }
        }
    }

    /**
     * guards (outside round 30): on io_uring a read into a segment it could not use (its arena
     * closed, or confined to another thread) was taken by submit when the ring had bytes kept, then
     * failed, and the default completion closed the handle with those bytes; epoll refuses it at
     * submit. Both refuse it now, and the next read gets every byte.
     */
    @ParameterizedTest
    @EnumSource(Backend.class)
    void aReadIntoAnUnusableSegmentIsRefusedAtSubmitAndTheBytesWaitForTheNextRead(Backend backend) throws Exception {
        try (LoopThread loop = new LoopThread("unusable-" + backend, backend); Fds.SocketPair pair = Fds.socketPair()) {
            Handle ours = Handle.of(pair.first(), loop.queue);
            Fds.write(pair.second(), ByteBuffer.wrap("ABCDEFGH".getBytes()));
            ByteBuffer first = ByteBuffer.allocateDirect(1);
            CompletableFuture<Long> one = new CompletableFuture<>();
            loop.queue.execute(() -> loop.queue.submit(ours, IoOperation.read(first, (fd, n) -> one.complete(n))));
            assertEquals(1L, one.get(10, TimeUnit.SECONDS));
            if (backend == Backend.IO_URING) { // the ring reads the rest ahead and keeps it: the case this guards
                long deadline = System.nanoTime() + 10_000_000_000L;
                while (loop.call(() -> loop.queue.stats().keptBytes()) < 7 && System.nanoTime() < deadline) Thread.sleep(1);
                assertEquals(7L, loop.call(() -> loop.queue.stats().keptBytes()));
            }
            java.lang.foreign.Arena closed = java.lang.foreign.Arena.ofShared();
            java.lang.foreign.MemorySegment gone = closed.allocate(4);
            closed.close();
            java.lang.foreign.Arena mine = java.lang.foreign.Arena.ofConfined(); // this thread's, not the loop's
            java.lang.foreign.MemorySegment foreign = mine.allocate(4);
            for (java.lang.foreign.MemorySegment unusable : List.of(gone, foreign)) {
                String refused = loop.call(() -> {
                    try {
                        loop.queue.submit(ours, IoOperation.read(unusable, new IoCompletion() {
                            @Override
                            public void completed(int fd, long result) {
                                throw new AssertionError("completed " + result);
                            }

                            @Override
                            public void failed(int fd, IOException failure) {
                                throw new AssertionError("failed: " + failure);
                            }
                        }));
                        return "accepted";
                    } catch (IllegalStateException | WrongThreadException e) {
                        return e.getClass().getSimpleName() + ": " + e.getMessage();
                    }
                });
                String expected = unusable == gone
                        ? "IllegalStateException: read on fd " + pair.first() + ": the segment's arena is already closed"
                        : "WrongThreadException";
                assertTrue(refused.startsWith(expected), refused);
            }
            ByteBuffer rest = ByteBuffer.allocateDirect(16);
            CompletableFuture<Long> next = new CompletableFuture<>();
            loop.queue.execute(() -> loop.queue.submit(ours, IoOperation.read(rest, (fd, n) -> next.complete(n))));
            assertEquals(7L, next.get(10, TimeUnit.SECONDS));
            assertEquals("BCDEFGH", java.nio.charset.StandardCharsets.US_ASCII.decode(rest.flip()).toString());
            assertTrue(ours.isOpen());
            mine.close();
        }
    }
}
