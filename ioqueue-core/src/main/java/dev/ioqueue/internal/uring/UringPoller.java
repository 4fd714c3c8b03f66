package dev.ioqueue.internal.uring;

import dev.ioqueue.internal.base.OwnerThread;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import dev.ioqueue.internal.base.Errors;
import dev.ioqueue.internal.epoll.EpollPoller;
import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.os.Uring;
import dev.ioqueue.internal.poll.Poller;

/**
 * The io_uring {@link Poller}: a ring the loop sleeps in, with an {@link EpollPoller} for readiness
 * waits. The ring watches the epoll fd with one multishot poll, so one sleep covers both; the
 * wake-up eventfd stays in the epoll set. The ring's other completions belong to the completion
 * engine ({@link RingEngine}), which the loop makes on this poller's ring and installs as the
 * {@link CompletionSink}: this class reaps the completion queue and hands it every CQE but its own.
 *
 * <p>Why readiness stays on epoll: its rules rest on epoll's exact answers (EBADF or ENOENT for a
 * number closed behind the queue's back, EPERM for a regular file, interest kept across waits
 * without a syscall), which a poll request cannot give; a poll request also holds its file open.
 *
 * <p>Sleeping: with no ring request in flight the loop sleeps in epoll, exactly as the epoll
 * backend does. Otherwise it sleeps in the ring; epoll is then asked without sleeping whenever the
 * ring reports its fd readable, and again after any wait that returned events, because epoll
 * re-queues level-triggered events without waking pollers of its own fd.
 *
 * <p>Threading as {@link Poller} says; the ring is single-issuer, so only the owner enters it.
 */
public final class UringPoller implements Poller {
    /** What the completion engine does with the ring's completions. Owner thread only. */
    public interface CompletionSink {
        /** One CQE that is not the poller's own. */
        void complete(long userData, int res, int flags);

        /** Whether requests are in flight, so the loop must sleep in the ring to see them end. */
        boolean expectsCompletions();
    }

    // Sizes, read when a queue is made (tests shrink them to reach CQ overflow and buffer exhaustion).
    private static final String SQ_ENTRIES = "dev.ioqueue.uring.entries";
    private static final String CQ_ENTRIES = "dev.ioqueue.uring.cqEntries";
    private static final String BUFFERS = "dev.ioqueue.uring.buffers";
    private static final String BUFFER_SIZE = "dev.ioqueue.uring.bufferSize";
    private static final String FIXED_FILES = "dev.ioqueue.uring.fixedFiles";
    /** Whether the provided buffers are used in parts where the kernel allows ({@link BufferRing}); false tests the older kernels' whole buffers. */
    private static final String INCREMENTAL = "dev.ioqueue.uring.incrementalBuffers";
    static final int BUFFER_GROUP = 1;
    /** User data of the multishot poll on the epoll fd: the top bit clear (the engine's requests set it). */
    private static final long EPOLL_POLL = 1;
    private static final long CLOSE_WAIT_NANOS = 1_000_000_000L;

    private final OwnerThread owner = new OwnerThread(Thread.currentThread());
    private final RingNatives natives;
    private final EpollPoller epoll;
    private final Ring ring;
    private CompletionSink sink = NO_SINK;
    private int epollPolls; // generations of the epoll-fd poll (after a reset, the old one is stale)
    private boolean epollMayBeReady;
    /** The epoll fd's poll ended and could not be armed again yet (the ring had no SQE): {@link #await} arms it. */
    private boolean epollUnarmed;
    /** Inside {@link #reap}'s taking of CQEs. */
    private boolean reaping;

    private static final CompletionSink NO_SINK = new CompletionSink() {
        @Override
        public void complete(long userData, int res, int flags) {}

        @Override
        public boolean expectsCompletions() {
            return false;
        }
    };

    /**
     * A poller on a new ring.
     *
     * @throws RuntimeException the API's syscall exception if io_uring is missing or refused
     *     (ENOSYS, EPERM), lacks a feature the queue uses (ENOSYS, naming it), or epoll cannot be set
     *     up; nothing is left open
     */
    public static UringPoller open() {
        int entries = size(SQ_ENTRIES, 256, 1, 32768, false);
        int cqEntries = size(CQ_ENTRIES, 4096, 1, 65536, false); // the kernel's IORING_MAX_CQ_ENTRIES
        // The kernel takes up to 32768 provided buffers (a power of two); a buffer of up to 1 MiB.
        int buffers = size(BUFFERS, 256, 1, 32768, true);
        int bufferSize = size(BUFFER_SIZE, 4096, 1, 1 << 20, false);
        int fixedFiles = size(FIXED_FILES, 8192, 0, 1 << 20, false);
        boolean incremental = flag(INCREMENTAL, true);
        Ring ring = new Ring(entries, Math.max(entries, cqEntries));
        try {
            if (!ring.supports(Uring.OP_READ_MULTISHOT) || !ring.supports(Uring.OP_POLL_ADD)) {
                throw Errors.syscallNoFd("io_uring_register(IORING_REGISTER_PROBE)", Errno.ENOSYS,
                        "the kernel lacks multishot reads (Linux 6.7)");
            }
            return new UringPoller(ring, buffers, bufferSize, incremental, fixedFiles);
        } catch (Throwable t) {
            ring.close();
            throw t;
        }
    }

    private UringPoller(Ring ring, int buffers, int bufferSize, boolean incremental, int fixedFiles) {
        this.ring = ring;
        epoll = new EpollPoller();
        try {
            natives = new RingNatives(ring, epoll, buffers, bufferSize, incremental, fixedFiles);
        } catch (Throwable t) {
            epoll.close();
            throw t;
        }
        try {
            armEpoll();
        } catch (Throwable t) {
            natives.close(true); // nothing was submitted yet
            throw t;
        }
    }

    /**
     * The boolean system property {@code name}, or {@code fallback} if unset.
     *
     * @throws IllegalArgumentException naming it, if it is neither true nor false (any case)
     */
    private static boolean flag(String name, boolean fallback) {
        String value = System.getProperty(name);
        if (value == null) return fallback;
        if (value.trim().equalsIgnoreCase("true")) return true;
        if (value.trim().equalsIgnoreCase("false")) return false;
        throw new IllegalArgumentException(name + "=" + value + ": must be true or false");
    }

    /**
     * The int system property {@code name}, or {@code fallback} if unset.
     *
     * @throws IllegalArgumentException naming it, if it is not a whole number in [min, max] (and a
     *     power of two where asked): a size mistyped is refused, never quietly replaced
     */
    private static int size(String name, int fallback, int min, int max, boolean powerOfTwo) {
        String value = System.getProperty(name);
        if (value == null) return fallback;
        long n;
        try {
            n = Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            n = Long.MIN_VALUE;
        }
        if (n < min || n > max || (powerOfTwo && Long.bitCount(n) != 1)) {
            throw new IllegalArgumentException(name + "=" + value + ": must be " + (powerOfTwo ? "a power of two" : "a whole number")
                    + " from " + min + " to " + max);
        }
        return (int) n;
    }

    /** The ring, for the completion engine. */
    public Ring ring() {
        return ring;
    }

    /** What the ring has done (enters, SQEs, CQEs, kept bytes), for the queue's statistics. */
    public RingCounters counters() {
        return ring.counters;
    }

    /** The ring's fixed-file table, for the completion engine. */
    public FixedFiles fixedFiles() {
        return natives.fixed;
    }

    /**
     * The provided buffers, made on first use (a queue that only waits for readiness holds none).
     *
     * @throws RuntimeException the API's syscall exception if the kernel refuses them
     */
    public BufferRing buffers() {
        return natives.buffers();
    }

    /** Installs the engine that takes the ring's completions. Owner thread, once. */
    public void setSink(CompletionSink sink) {
        this.sink = sink;
    }

    @Override
    public void afterOwnerEnded() {
        natives.releaseRing(false);
    }

    /** What a {@link java.lang.ref.Cleaner} may run: it references the native parts only. */
    @Override
    public Runnable cleanup() {
        RingNatives n = natives;
        return () -> n.close(false);
    }

    /**
     * (Re)arms the ring's multishot poll of the epoll fd. Its SQE is taken first: if the ring
     * cannot give one (it stays full), the poll is still owed ({@link #epollUnarmed}) and the next
     * wait arms it, and meanwhile looks at epoll itself, so no readiness or wake-up is missed.
     */
    private void armEpoll() {
        epollUnarmed = true;
        epollMayBeReady = true;
        long sqe = ring.nextSqe();
        epollPolls++;
        ring.prep(sqe, Uring.OP_POLL_ADD, epoll.epfd(), 0, Uring.POLL_ADD_MULTI, 0, EPOLL_POLL | ((long) epollPolls << 32));
        ring.sqes().set(JAVA_INT, sqe + Uring.SQE_OP_FLAGS, 1); // POLLIN
        epollUnarmed = false;
    }

    @Override
    public int add(int fd, int interest, long token) {
        return epoll.add(fd, interest, token);
    }

    @Override
    public int modify(int fd, int interest, long token) {
        return epoll.modify(fd, interest, token);
    }

    @Override
    public int remove(int fd) {
        return epoll.remove(fd);
    }

    @Override
    public int await(long timeoutNanos) {
        if (epollUnarmed) armEpoll(); // a re-arm the full ring refused: a throw here goes to the loop, as then
        if (!sink.expectsCompletions() && !ring.hasUnsubmitted()) {
            epollMayBeReady = false;
            return epoll.await(timeoutNanos); // nothing to wait for in the ring: sleep as the epoll backend does
        }
        int n = 0;
        if (epollMayBeReady) {
            n = epoll.await(0);
            epollMayBeReady = n > 0;
        }
        long wait = n > 0 ? 0 : timeoutNanos;
        long deadline = wait > 0 ? System.nanoTime() + wait : 0;
        while (true) {
            int r = ring.enter(wait == 0 ? 0 : 1, wait);
            reap();
            if (r != -Errno.EINTR || wait == 0) break;
            if (wait > 0 && (wait = deadline - System.nanoTime()) <= 0) break;
        }
        if (n == 0 && epollMayBeReady) {
            n = epoll.await(0);
            epollMayBeReady = n > 0;
        }
        return n;
    }

    /** Submits what is queued without waiting, and reaps what completed (a synchronous cancel's answer). */
    public void submitAndReap() {
        ring.enter(0, -1);
        reap();
    }

    /** Waits at most {@code timeoutNanos} for a completion, and reaps what came (a close waiting for its requests to end). */
    public void awaitCompletions(long timeoutNanos) {
        ring.enter(1, timeoutNanos);
        reap();
    }

    /**
     * Takes every CQE: the epoll fd's poll marks epoll for a look, the rest go to the sink. A CQE
     * is taken before it is handled: if handling one throws, the CQEs up to it are given back to
     * the kernel and the rest wait for the next reap, so none is ever handled twice (a request
     * slot or a provided buffer released twice would be another request's). The sink runs no user
     * code (a reap inside would take them again, and a queue closed inside would unmap the ring
     * under this one): a reap inside a reap is refused.
     */
    private void reap() {
        if (reaping) throw new IllegalStateException("io_uring completions reaped while being reaped");
        reaping = true;
        int head = ring.cqHead();
        int first = head;
        try {
            int tail = ring.cqTail();
            while (head != tail) {
                while (head != tail) {
                    long userData = ring.cqeUserData(head);
                    int flags = ring.cqeFlags(head);
                    int res = ring.cqeResult(head);
                    head++;
                    if (userData < 0) { // the top bit: an engine request
                        sink.complete(userData, res, flags);
                    } else if ((int) (userData >>> 32) == epollPolls) {
                        epollMayBeReady = true;
                        if ((flags & Uring.CQE_F_MORE) == 0) armEpoll(); // ended (CQ overflow, error): poll again
                    }
                }
                ring.cqAdvance(head);
                tail = ring.cqTail();
            }
        } finally {
            if (head != ring.cqHead()) ring.cqAdvance(head); // a handler threw: what was taken is not seen again
            ring.counters.completions += head - first;
            reaping = false;
        }
    }

    @Override
    public long token(int i) {
        return epoll.token(i);
    }

    @Override
    public int events(int i) {
        return epoll.events(i);
    }

    @Override
    public void wake() {
        epoll.wake();
    }

    /**
     * A fresh epoll instance; the ring's poll moves to it. The old poll is cancelled first: it holds
     * the old instance (closing its fd does not end it), whose stale registrations would go on
     * waking the ring, one more instance per reset. Its last CQE is then stale.
     */
    @Override
    public void reset() {
        ring.prepCancel(EPOLL_POLL | ((long) epollPolls << 32), RingRequests.CANCEL_DATA);
        epoll.reset();
        armEpoll();
    }

    @Override
    public boolean broken() {
        return epoll.broken();
    }

    @Override
    public boolean owns(int fd) {
        return (fd == ring.fd && !natives.ringReleased()) || epoll.owns(fd); // a released ring's number may be anyone's now
    }

    @Override
    public String describeOwn(int fd) {
        return fd == ring.fd ? "this queue's own io_uring fd" : epoll.describeOwn(fd);
    }

    @Override
    public String explain(int errno) {
        return epoll.explain(errno);
    }

    /**
     * On the owner thread: cancels every request and waits (up to a second) until the kernel has
     * finished them, so no read lands in freed buffers and every file the ring held is let go;
     * then releases everything. From another thread (a Cleaner, after the owner ended) it only
     * releases; since the owner's kernel thread may outlive its Java thread (and hold the ring
     * through its registration, its requests with it), the provided buffers are then retired, not
     * unmapped ({@link BufferRing#free(boolean)}), as they are when the drain left a request running.
     */
    @Override
    public void close() {
        if (owner.isCurrent() && !natives.closed()) {
            boolean drained = false;
            try {
                drain();
                drained = !sink.expectsCompletions();
            } finally {
                natives.close(drained);
            }
        } else {
            natives.close(false);
        }
    }

    private void drain() {
        long sqe = ring.prepCancel(0, RingRequests.CANCEL_DATA);
        ring.sqes().set(JAVA_INT, sqe + Uring.SQE_OP_FLAGS, Uring.ASYNC_CANCEL_ANY);
        long deadline = System.nanoTime() + CLOSE_WAIT_NANOS;
        epollPolls++; // the epoll fd's poll ends too; its CQE is stale
        while (true) {
            ring.enter(sink.expectsCompletions() ? 1 : 0, 10_000_000L);
            reap();
            if (!sink.expectsCompletions() || System.nanoTime() - deadline > 0) break;
        }
    }
}
