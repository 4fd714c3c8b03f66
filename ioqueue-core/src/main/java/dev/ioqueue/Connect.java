package dev.ioqueue;

import dev.ioqueue.internal.core.OrphanedFutures;
import dev.ioqueue.internal.core.QueueCore;
import dev.ioqueue.internal.io.Addresses;
import dev.ioqueue.internal.io.Background;
import dev.ioqueue.internal.io.Connector;
import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.Unistd;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * Connects a stream socket and hands over the connection as a {@link Handle}: TCP to an
 * {@link InetSocketAddress} (IPv4 or IPv6), to a host name, or to a list of candidate addresses,
 * and Unix domain sockets to a {@link java.net.UnixDomainSocketAddress}. Two styles here — a
 * callback on a loop ({@link #start}) and a future ({@link #future}) — and
 * {@link BlockingIo#connect(SocketAddress, Duration)} for virtual threads.
 *
 * <p><b>Host names</b> (an unresolved {@link InetSocketAddress}, or a host and port) are resolved
 * on a virtual thread, never on a loop, with {@link java.net.InetAddress#getAllByName}; the
 * addresses are then tried as Happy Eyeballs (RFC 8305) does: interleaved by family starting with
 * the resolver's first, the next attempt started when one fails or after 250 ms without an answer,
 * the first to connect wins and the other sockets are closed. A list of candidates is tried the
 * same way, in its own order.
 *
 * <p><b>A Unix listener whose backlog is full</b> (its connect fails with EAGAIN: nothing is in
 * progress, and nothing tells a non-blocking socket when there is room) is tried again, 1 ms
 * later and then twice as long each time up to 64 ms, until it connects or the time limit passes,
 * as a blocking connect would wait. {@link Sockets#connectUnix} tries once.
 *
 * <p><b>Outcomes.</b> The connection has TCP_NODELAY on ({@link SocketOptions}). A refusal fails
 * with {@link SyscallConnectException} (ECONNREFUSED, the JDK's {@link java.net.ConnectException});
 * the time limit with {@link SyscallTimeoutException} (ETIMEDOUT, the JDK's
 * {@link java.net.SocketTimeoutException}), no earlier than the limit, with every socket closed;
 * an unknown host with {@link java.net.UnknownHostException}; other errnos (ENETUNREACH, ENOENT for
 * a Unix path) as {@link ErrorFactory} maps them. Several failed candidates report the first
 * failure, the others suppressed on it. A queue closed under a connect fails it with
 * {@link WaitDroppedException}. Cancelling a pending connect closes its sockets; no fd is ever
 * left behind.
 */
public final class Connect {
    private Connect() {}

    /** What a callback connect reports to, once, on its queue's owner thread. */
    public interface Completion {
        /** Connected: the connection is the caller's, bound to the queue the connect ran on. */
        void connected(Handle connection);

        /** It failed (see {@link Connect}); by default the queue's {@link FailureHandler} hears it. */
        default void failed(IOException failure) {
            IoQueue.unhandledFailure(-1, failure);
        }
    }

    /**
     * Connects to {@code address} on {@code queue}'s loop and tells {@code done}: resolved at
     * once, or (unresolved) after resolving its host name off the loop. {@code timeout} null means
     * no limit. Owner thread of {@code queue}; the returned handle's {@code cancel()} is
     * thread-safe, closes the sockets, and {@code done} hears nothing after it.
     *
     * @throws IllegalArgumentException for a bad address (before any syscall) or a timeout not positive
     * @throws IllegalStateException off the owner thread, or on a closed queue
     */
    public static Cancellable start(IoQueue queue, SocketAddress address, Duration timeout, Completion done) {
        Objects.requireNonNull(done, "done");
        return launch(queue, address, timeout, fd -> bound(fd, queue, done), done::failed);
    }

    /** {@link #start(IoQueue, SocketAddress, Duration, Completion)} to {@code host}'s addresses at {@code port}. */
    public static Cancellable start(IoQueue queue, String host, int port, Duration timeout, Completion done) {
        return start(queue, unresolved(host, port), timeout, done);
    }

    /**
     * {@link #start(IoQueue, SocketAddress, Duration, Completion)} to the first of
     * {@code candidates} that answers, tried in their order as Happy Eyeballs does.
     */
    public static Cancellable start(IoQueue queue, List<? extends SocketAddress> candidates, Duration timeout, Completion done) {
        Objects.requireNonNull(done, "done");
        return launch(queue, candidates, timeout, fd -> bound(fd, queue, done), done::failed);
    }

    /**
     * A future of a connect to {@code address} run on {@code queue} (host names resolved off the
     * loop). Thread-safe. It completes on {@code queue}'s thread with a {@link Handle} bound to it,
     * or, on {@link IoQueue#shared()}, on another thread with an unbound one (the first queue that
     * uses it gets it). Cancelling the future cancels the connect and closes its sockets; a
     * connection that arrives after the future was completed otherwise is closed. If the queue's
     * thread ends without closing it, the future fails with {@link WaitDroppedException} and the
     * sockets still connecting are closed (see threading.md).
     *
     * @throws IllegalArgumentException for a bad address or a timeout not positive
     */
    public static CompletableFuture<Handle> future(IoQueue queue, SocketAddress address, Duration timeout) {
        peer(resolvedOrName(address));
        return futureOf(queue, address, timeout);
    }

    /** {@link #future(IoQueue, SocketAddress, Duration)} to {@code host}'s addresses at {@code port}. Thread-safe. */
    public static CompletableFuture<Handle> future(IoQueue queue, String host, int port, Duration timeout) {
        return futureOf(queue, unresolved(host, port), timeout);
    }

    /** {@link #future(IoQueue, SocketAddress, Duration)} to the first of {@code candidates} that answers. Thread-safe. */
    public static CompletableFuture<Handle> future(IoQueue queue, List<? extends SocketAddress> candidates, Duration timeout) {
        checkCandidates(candidates);
        return futureOf(queue, List.copyOf(candidates), timeout);
    }

    private static CompletableFuture<Handle> futureOf(IoQueue queue, Object target, Duration timeout) {
        Objects.requireNonNull(queue, "queue");
        long nanos = timeoutNanos(timeout);
        boolean shared = queue.core == Background.ifStarted();
        CompletableFuture<Handle> future = new CompletableFuture<>();
        Consumer<Runnable> complete = shared ? Background.COMPLETER::execute : Runnable::run;
        Consumer<Integer> connected = fd -> {
            Handle h;
            try {
                h = shared ? Handle.of(fd) : Handle.of(fd, queue);
            } catch (IllegalStateException closed) {
                Unistd.close(fd, Native.threadErrno());
                complete.accept(() -> future.completeExceptionally(new WaitDroppedException(fd, "connect: its queue closed")));
                return;
            }
            complete.accept(() -> {
                if (!future.complete(h)) h.close();
            });
        };
        Consumer<IOException> failed = e -> complete.accept(() -> future.completeExceptionally(e));
        QueueCore core = queue.core;
        if (!shared) { // the shared queue's thread never ends
            // Told if its thread ends with the queue open: nothing would finish it. It holds the core, not the queue.
            OrphanedFutures.Orphan orphan = closing -> Background.COMPLETER.execute(() -> future.completeExceptionally(refused(core)));
            core.futures.add(orphan);
            future.whenComplete((h, e) -> core.futures.remove(orphan));
        }
        boolean posted = queue.core.runOnOwner(() -> {
            if (future.isDone()) return;
            Cancellable c;
            try {
                c = run(queue.core, target, nanos, connected, failed);
            } catch (RuntimeException | Error e) { // nothing was left behind: the caller hears it through the future
                complete.accept(() -> future.completeExceptionally(e));
                return;
            }
            future.whenComplete((h, e) -> {
                if (future.isCancelled()) c.cancel();
            });
        });
        if (!posted) future.completeExceptionally(refused(core));
        return future;
    }

    /** Why the connect of {@code core}'s queue cannot finish: the queue is closed, or its thread ended without closing it. */
    private static WaitDroppedException refused(QueueCore core) {
        return new WaitDroppedException(-1, "connect: " + core.ownership.whyRefused());
    }

    /**
     * {@link BlockingIo#connect(SocketAddress, Duration)}: the future on the shared queue, waited
     * for; an interrupt cancels it (closing its sockets).
     */
    static Handle blocking(SocketAddress address, Duration timeout) throws IOException {
        IoQueue own = IoQueue.currentIfAny();
        if (own != null && !own.isClosed() && own.isInLoop()) {
            throw new IllegalStateException("BlockingIo.connect blocks, and from inside the loop of thread " + own.owner().getName()
                    + " it would stop that loop: use Connect.start or Connect.future instead");
        }
        IoQueue shared;
        try {
            shared = IoQueue.shared();
        } catch (SyscallException e) { // it could not start (EMFILE...): a blocking call's failure is its IOException
            throw e.getCause();
        }
        CompletableFuture<Handle> f = future(shared, address, timeout);
        try {
            return f.get();
        } catch (InterruptedException e) {
            f.cancel(false);
            // Connected as the interrupt came (the cancel came too late): that connection is closed, not leaked.
            f.thenAccept(Connect::closeQuietly);
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("connect to " + describe(address) + " was interrupted (its socket is closed)");
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) throw io;
            if (cause instanceof RuntimeException r) throw r;
            if (cause instanceof Error err) throw err;
            throw new IOException(cause);
        }
    }

    private static void closeQuietly(Handle h) {
        try {
            h.close();
        } catch (RuntimeException ignored) {
            // EBADF: closed behind its back; nothing is left to release
        }
    }

    // ---- the glue between the styles and the connector ----

    /** The connection bound to the queue the connect ran on; if it closed meanwhile, the fd is closed and the failure told. */
    private static void bound(int fd, IoQueue queue, Completion done) {
        Handle h;
        try {
            h = Handle.of(fd, queue);
        } catch (IllegalStateException closed) {
            Unistd.close(fd, Native.threadErrno());
            done.failed(new WaitDroppedException(fd, "connect: its queue closed"));
            return;
        }
        done.connected(h);
    }

    private static Cancellable launch(IoQueue queue, Object target, Duration timeout, Consumer<Integer> connected, Consumer<IOException> failed) {
        Objects.requireNonNull(queue, "queue");
        if (target instanceof List<?> list) checkCandidates(list);
        else peer(resolvedOrName((SocketAddress) target));
        long nanos = timeoutNanos(timeout);
        queue.core.ownership.checkOpen("connect");
        return run(queue.core, target instanceof List<?> list ? List.copyOf(list) : target, nanos, connected, failed);
    }

    /** Starts the connector on the owner thread; the returned cancel is thread-safe and exact. */
    @SuppressWarnings("unchecked")
    private static Cancellable run(QueueCore q, Object target, long nanos, Consumer<Integer> connected, Consumer<IOException> failed) {
        AtomicBoolean settled = new AtomicBoolean();
        Connector c = new Connector(q, describe(target), new Connector.Outcome() {
            @Override
            public void connected(int fd) {
                if (!settled.compareAndSet(false, true)) {
                    Unistd.close(fd, Native.threadErrno()); // cancelled on its way here
                    return;
                }
                connected.accept(fd);
            }

            @Override
            public void failed(IOException failure) {
                if (settled.compareAndSet(false, true)) failed.accept(failure);
            }
        });
        if (target instanceof InetSocketAddress inet && inet.isUnresolved()) {
            c.resolveThenStart(inet.getHostString(), inet.getPort(), nanos);
        } else if (target instanceof List<?> list) {
            c.start((List<SocketAddress>) list, nanos);
        } else {
            c.start(List.of((SocketAddress) target), nanos);
        }
        return () -> {
            if (!settled.compareAndSet(false, true)) return false;
            q.runOnOwner(c::cancel);
            return true;
        };
    }

    private static SocketAddress resolvedOrName(SocketAddress address) {
        // an unresolved address is a name to resolve: check its port only
        if (address instanceof InetSocketAddress inet && inet.isUnresolved()) return new InetSocketAddress(inet.getPort());
        return address;
    }

    /** Checks a peer's address as connect needs it: an address {@link Addresses} takes, and a peer's port. */
    private static void peer(SocketAddress address) {
        Addresses.of("connect", address);
        if (address instanceof InetSocketAddress inet) checkPeerPort("connect", inet.getPort());
    }

    /** {@code host:port} to be resolved when connecting. */
    static InetSocketAddress unresolved(String host, int port) {
        Objects.requireNonNull(host, "host");
        checkPeerPort("connect", port);
        return InetSocketAddress.createUnresolved(host, port);
    }

    /** A peer's port is 1..65535 (0 names no peer): refused before any syscall otherwise. */
    static void checkPeerPort(String call, int port) {
        if (port < 1 || port > 65535) throw new IllegalArgumentException(call + ": port " + port + " is outside 1..65535");
    }

    private static void checkCandidates(List<?> candidates) {
        Objects.requireNonNull(candidates, "candidates");
        if (candidates.isEmpty()) throw new IllegalArgumentException("connect: no candidate address");
        for (Object a : candidates) {
            if (!(a instanceof SocketAddress sa)) throw new IllegalArgumentException("connect: " + a + " is not a SocketAddress");
            peer(sa);
        }
    }

    static long timeoutNanos(Duration timeout) {
        if (timeout == null) return -1;
        if (timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("connect: timeout " + timeout + " is not positive");
        return IoQueue.nanos(timeout);
    }

    private static String describe(Object target) {
        if (target instanceof List<?> list) return list.stream().map(a -> Addresses.describe((SocketAddress) a)).toList().toString();
        if (target instanceof InetSocketAddress inet && inet.isUnresolved()) return inet.getHostString() + ":" + inet.getPort();
        return Addresses.describe((SocketAddress) target);
    }
}
