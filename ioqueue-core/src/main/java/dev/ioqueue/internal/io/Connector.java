package dev.ioqueue.internal.io;

import dev.ioqueue.internal.base.Errors;
import dev.ioqueue.internal.core.OrphanedFutures;
import dev.ioqueue.internal.core.OwnedFd;
import dev.ioqueue.internal.core.QueueCore;
import dev.ioqueue.internal.core.Timer;
import dev.ioqueue.internal.core.Waiter;
import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.SockAddr;
import dev.ioqueue.internal.os.SocketCalls;
import dev.ioqueue.internal.os.Unistd;
import dev.ioqueue.internal.poll.Interest;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * One connect, completed: opens a non-blocking socket per candidate address, waits in its queue
 * for each to finish connecting, and tells its {@link Outcome} the connected fd or the failure.
 * Several candidates (a host name's addresses) are tried as Happy Eyeballs (RFC 8305) does: in
 * the order given, the next one started when the one before fails or after {@link #STAGGER_NANOS}
 * without an answer, the first to connect wins and the others are closed. A host name is resolved
 * on a virtual thread, never on the loop; the result hops back to it. An overall time limit, if
 * any, covers the resolution too: when it passes, every socket is closed and the outcome told
 * ETIMEDOUT. The fds are plain fds of this queue, under mio's rule: each is unregistered before
 * it is closed or handed on.
 *
 * <p>Owner thread of its queue, except {@link #resolveThenStart}'s virtual thread, which only
 * posts, and {@link #ownerEnded}, on whichever thread found the owner ended. The outcome runs on
 * the owner thread, at most once; never after {@link #cancel}.
 */
public final class Connector implements OrphanedFutures.Orphan {
    /** RFC 8305's recommended Connection Attempt Delay. */
    public static final long STAGGER_NANOS = 250_000_000L;
    /** About 73 years: "no limit", still far from overflowing a deadline. */
    private static final long NO_LIMIT = Long.MAX_VALUE / 4;
    /** The longest wait between two tries of a Unix connect whose listener's backlog is full. */
    static final long RETRY_MAX_NANOS = 64_000_000L;
    /** What {@link #answered} found. */
    private static final int CONNECTED = 0, PENDING = 1, FAILED = 2;

    /** Who hears how it ended. */
    public interface Outcome {
        /** Connected: the fd is the caller's, non-blocking and close-on-exec. */
        void connected(int fd);

        /** Failed: refused, unreachable, timed out, unresolvable, or dropped with its queue. */
        void failed(IOException failure);
    }

    private final QueueCore queue;
    private final String where;
    private final Outcome outcome;
    private final List<Attempt> inFlight = new ArrayList<>(2);
    private List<SocketAddress> candidates = List.of();
    private int next;
    private boolean done;
    private Timer deadline;
    private Timer stagger;
    private IOException firstFailure;

    /** A connect of {@code where} (for messages) in {@code queue}, told to {@code outcome}. Any thread. */
    public Connector(QueueCore queue, String where, Outcome outcome) {
        this.queue = queue;
        this.where = where;
        this.outcome = outcome;
    }

    /**
     * Starts connecting to {@code candidates} in turn ({@link #order}ed already if they came from
     * a name), failing with ETIMEDOUT after {@code timeoutNanos} (negative: no limit). Owner thread.
     */
    public void start(List<SocketAddress> candidates, long timeoutNanos) {
        try {
            armDeadline(timeoutNanos);
            attempt(candidates);
        } catch (Throwable t) {
            cancel(); // a throw (an epoll_ctl refused) leaves no socket, timer or entry behind; the caller hears it
            throw t;
        }
    }

    /**
     * Resolves {@code host} on a virtual thread, then, back on the owner thread, connects to its
     * addresses at {@code port} in Happy Eyeballs order. Owner thread.
     */
    public void resolveThenStart(String host, int port, long timeoutNanos) {
        try {
            armDeadline(timeoutNanos);
        } catch (Throwable t) {
            cancel();
            throw t;
        }
        if (done) return;
        Thread.ofVirtual().name("ioqueue-resolve " + host).start(() -> {
            List<SocketAddress> found;
            IOException failure = null;
            try {
                found = order(InetAddress.getAllByName(host), port);
            } catch (IOException e) { // UnknownHostException
                found = null;
                failure = e;
            }
            List<SocketAddress> addresses = found;
            IOException error = failure;
            // If the queue closed meanwhile, the deadline timer's drop told the outcome.
            queue.runOnOwner(() -> {
                if (done) return;
                if (error != null) finish(-1, error);
                else attempt(addresses);
            });
        });
    }

    /** Stops it: every socket closed, the outcome never told. Owner thread. Whether it was still under way. */
    public boolean cancel() {
        if (done) return false;
        done = true;
        closeAll();
        return true;
    }

    /** RFC 8305 section 4: the addresses interleaved by family, starting with the resolver's first. */
    public static List<SocketAddress> order(InetAddress[] addresses, int port) {
        List<InetAddress> first = new ArrayList<>();
        List<InetAddress> other = new ArrayList<>();
        boolean firstIs6 = addresses.length > 0 && addresses[0] instanceof Inet6Address;
        for (InetAddress a : addresses) ((a instanceof Inet6Address) == firstIs6 ? first : other).add(a);
        List<SocketAddress> ordered = new ArrayList<>(addresses.length);
        for (int i = 0; i < Math.max(first.size(), other.size()); i++) {
            if (i < first.size()) ordered.add(new InetSocketAddress(first.get(i), port));
            if (i < other.size()) ordered.add(new InetSocketAddress(other.get(i), port));
        }
        return ordered;
    }

    // ---- the steps, on the owner thread ----

    /**
     * The time limit's timer; without a limit, a timer that never fires, so the loop keeps running
     * while a name resolves and a queue closing under the connect tells the outcome.
     */
    private void armDeadline(long timeoutNanos) {
        boolean limited = timeoutNanos >= 0;
        Runnable onTime = limited ? this::timedOut : () -> {};
        deadline = queue.schedule(limited ? timeoutNanos : NO_LIMIT, onTime, () -> dropped("its queue closed"));
        if (deadline == null) dropped("its queue is closed");
        else queue.futures.add(this); // until it ends: its sockets are closed if the owner thread ends first
    }

    /**
     * The queue's owner thread ended with the queue open and this connect under way: nothing will
     * finish it, so its sockets are closed here (on the thread that found the end: the owner's
     * state is visible once it has ended, and no other thread runs a connector). The outcome is
     * told nothing: it runs on the owner thread, which is gone ({@code Connect.future} fails on
     * its own). Again, or from another thread that found the end too, does nothing.
     */
    @Override
    public synchronized void ownerEnded(OwnedFd closing) {
        if (done) return;
        done = true;
        MemorySegment errno = Native.threadErrno();
        for (Attempt a : inFlight) {
            a.closed = true;
            Unistd.close(a.fd, errno);
        }
        inFlight.clear();
        queue.futures.remove(this);
    }

    private void attempt(List<SocketAddress> addresses) {
        candidates = addresses;
        startNext();
    }

    /** Starts candidates until one is in flight, connects at once, or none is left. */
    private void startNext() {
        if (stagger != null) {
            stagger.cancel();
            stagger = null;
        }
        MemorySegment errno = Native.threadErrno();
        while (!done && next < candidates.size()) {
            SocketAddress target = candidates.get(next++);
            SockAddr sa = Addresses.of("connect", target);
            int type = SocketCalls.SOCK_STREAM | SocketCalls.SOCK_NONBLOCK | SocketCalls.SOCK_CLOEXEC;
            int fd = SocketCalls.socket(sa.family(), type, 0, errno);
            if (fd < 0) {
                failedAttempt(Errors.io("socket", Errors.NO_FD, -fd, "to connect to " + Addresses.describe(target)));
                continue;
            }
            if (sa.isInet()) SocketCalls.setIntOption(fd, SocketCalls.IPPROTO_TCP, SocketCalls.TCP_NODELAY, 1, errno); // the default
            Attempt a = new Attempt(fd, target);
            inFlight.add(a);
            int answer = answered(a, SocketCalls.connect(fd, sa, errno));
            if (answer == CONNECTED) return;
            if (answer == PENDING) {
                if (next < candidates.size()) stagger = queue.schedule(STAGGER_NANOS, this::startNext, null);
                return;
            }
        }
        if (!done && inFlight.isEmpty()) finish(-1, firstFailure != null ? firstFailure : noAddress());
    }

    /**
     * A Unix listener's backlog is full: a blocking connect would sleep until the listener accepts,
     * but a non-blocking one is told nothing when it does. So it tries again, 1 ms later, then
     * twice as long each time up to {@link #RETRY_MAX_NANOS}, until it connects, fails otherwise,
     * or the time limit passes (the JDK's blocking connect waits likewise; outside round 11).
     */
    private void retryLater(Attempt a) {
        a.backoffNanos = a.backoffNanos == 0 ? 1_000_000L : Math.min(2 * a.backoffNanos, RETRY_MAX_NANOS);
        a.retry = queue.schedule(a.backoffNanos, () -> retry(a), null); // a closing queue drops the deadline, which tells
    }

    private void retry(Attempt a) {
        a.retry = null;
        if (done || a.closed) return;
        if (answered(a, SocketCalls.connect(a.fd, Addresses.of("connect", a.target), Native.threadErrno())) == FAILED) startNext();
    }

    /**
     * What a {@code connect(2)} of {@code a}'s socket (in {@link #inFlight}) answered: connected
     * (the outcome told), pending (waiting for the socket to be writable, or for room in a Unix
     * listener's backlog), or failed (its socket closed, the failure kept for the outcome).
     */
    private int answered(Attempt a, int r) {
        if (r == 0) {
            inFlight.remove(a);
            finish(a.fd, null);
            return CONNECTED;
        }
        if (r == -Errno.EINPROGRESS || r == -Errno.EINTR) {
            try {
                queue.await(a.fd, null, Interest.WRITE, a);
            } catch (RuntimeException e) { // the queue cannot wait on it (epoll_ctl ENOSPC, ENOMEM): that attempt failed
                inFlight.remove(a);
                Unistd.close(a.fd, Native.threadErrno());
                failedAttempt(e instanceof java.io.UncheckedIOException u ? u.getCause() : new IOException("connect to " + Addresses.describe(a.target), e));
                return FAILED;
            }
            return PENDING;
        }
        if (r == -Errno.EAGAIN && a.target instanceof java.net.UnixDomainSocketAddress) {
            retryLater(a);
            return PENDING;
        }
        failed(a, -r);
        return FAILED;
    }

    /** {@code a} failed with {@code errno}: out of flight, its socket closed, the failure kept. */
    private void failed(Attempt a, int errno) {
        inFlight.remove(a);
        release(a.fd);
        Unistd.close(a.fd, Native.threadErrno());
        failedAttempt(Errors.io("connect", a.fd, errno, "to " + Addresses.describe(a.target)));
    }

    private void failedAttempt(IOException e) {
        if (firstFailure == null) firstFailure = e;
        else firstFailure.addSuppressed(e);
    }

    /** A socket reported ready to write: connected, failed, or (spuriously) still connecting. */
    private void settle(Attempt a, int events) {
        if (done) return;
        MemorySegment errno = Native.threadErrno();
        int error = SocketCalls.intOption(a.fd, SocketCalls.SOL_SOCKET, SocketCalls.SO_ERROR, errno);
        if (error < 0) error = -error; // getsockopt itself failed: that is the failure
        if (error == 0 && (BlockingWait.readyNow(a.fd, Interest.WRITE) & (Interest.WRITE_BIT | Interest.ERROR_BIT | Interest.HANGUP_BIT)) == 0) {
            queue.await(a.fd, null, Interest.WRITE, a); // still connecting
            return;
        }
        if (error == 0) {
            inFlight.remove(a);
            release(a.fd);
            finish(a.fd, null);
            return;
        }
        failed(a, error);
        startNext();
    }

    private void timedOut() {
        deadline = null;
        if (done) return;
        int fd = inFlight.isEmpty() ? Errors.NO_FD : inFlight.get(0).fd;
        String why = !inFlight.isEmpty() && inFlight.get(0).backoffNanos > 0 ? "the listener's backlog stayed full" : "no answer";
        IOException timeout = Errors.io("connect", fd, Errno.ETIMEDOUT, "to " + where + ": " + why + " within the time limit (the socket is closed)");
        if (firstFailure != null) timeout.addSuppressed(firstFailure); // the candidates that failed before: one failure, the others suppressed
        finish(-1, timeout);
    }

    private void dropped(String why) {
        if (done) return;
        finish(-1, Errors.dropped(inFlight.isEmpty() ? -1 : inFlight.get(0).fd, "connect to " + where + ": " + why));
    }

    /** Ends it: the winner's fd (or -1) goes to the outcome, everything else is closed. */
    private void finish(int fd, IOException failure) {
        done = true;
        closeAll();
        if (failure != null) outcome.failed(failure);
        else outcome.connected(fd);
    }

    private void closeAll() {
        queue.futures.remove(this);
        if (deadline != null) deadline.cancel();
        if (stagger != null) stagger.cancel();
        deadline = stagger = null;
        MemorySegment errno = Native.threadErrno();
        for (Attempt a : inFlight) {
            a.closed = true;
            if (a.retry != null) a.retry.cancel();
            release(a.fd);
            Unistd.close(a.fd, errno);
        }
        inFlight.clear();
    }

    /** Drops the queue's interest in a plain fd before it is closed or handed on (mio's rule). */
    private void release(int fd) {
        if (!queue.ownership.isClosed()) queue.unregister(fd, null); // a closing queue drops everything itself
    }

    private IOException noAddress() {
        return Errors.io("connect", Errors.NO_FD, Errno.EADDRNOTAVAIL, "to " + where + ": no address to try");
    }

    /** One socket connecting, and its waiter. */
    private final class Attempt extends Waiter {
        final int fd;
        final SocketAddress target;
        boolean closed;
        /** A Unix connect waiting for room in the listener's backlog: its next try, and the wait before it. */
        Timer retry;
        long backoffNanos;

        Attempt(int fd, SocketAddress target) {
            this.fd = fd;
            this.target = target;
        }

        @Override
        public void ready(int fd, int events) {
            if (!closed) settle(this, events);
        }

        @Override
        public void dropped(int fd) {
            if (!closed) Connector.this.dropped("its queue closed");
        }
    }
}
