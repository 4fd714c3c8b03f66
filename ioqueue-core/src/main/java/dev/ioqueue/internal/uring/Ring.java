package dev.ioqueue.internal.uring;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.ioqueue.internal.base.Errors;
import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.NativeMemory;
import dev.ioqueue.internal.os.Unistd;
import dev.ioqueue.internal.os.Uring;
import dev.ioqueue.internal.poll.QueueFds;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * One io_uring instance as the queue uses it: set up single-issuer with deferred task work (its
 * completions are posted only when the owner thread enters the ring), its fd registered with itself,
 * the SQ and CQ rings and the SQE array mapped, and SQEs written in place (no allocation).
 *
 * <p><b>Memory ordering</b>, as the kernel's io_uring.h asks: an SQE is written, then the SQ tail is
 * stored with release (so the kernel never reads a half-written SQE); the CQ tail is loaded with
 * acquire (so a CQE's fields are read after the kernel wrote them); the CQ head is stored with
 * release (so the kernel reuses a slot only after it was read). On x86-64 these are plain moves.
 *
 * <p>Owner thread only (the kernel refuses other threads: EEXIST), except {@link #close()}.
 */
final class Ring {
    private static final VarHandle INT = JAVA_INT.varHandle();
    private static final long SCRATCH_SIZE = 256;

    final int fd;
    private final int enterFd;
    private final int enterFlags;
    /**
     * The id of the thread that registered the ring fd (registrations are the thread's own), or -1
     * if it is not registered: the registration holds the ring, so it must be undone for a close to
     * end it. An id, not the thread: a Cleaner holds this ring, and an ended thread holds its
     * Runnable, which may hold the queue the Cleaner waits to see unreachable.
     */
    private final long registeredBy;
    private final MemorySegment sqRing;
    private final MemorySegment cqRing;
    private final MemorySegment sqes;
    private final MemorySegment scratch; // errno capture, getevents arg, timespec, register args
    private final MemorySegment errno;
    private final MemorySegment eventsArg;
    private final MemorySegment timespec;
    private final long sqTailOffset;
    private final long sqHeadOffset;
    private final int sqMask;
    private final int sqEntries;
    private final long cqHeadOffset;
    private final long cqTailOffset;
    private final long cqesOffset;
    private final int cqMask;
    private int sqTail;
    private int unsubmitted;
    private boolean closed;
    /** What this ring has done, for the queue's statistics. */
    final RingCounters counters = new RingCounters();

    /**
     * A ring of {@code entries} SQEs and {@code cqEntries} CQEs.
     *
     * @throws RuntimeException the API's syscall exception if the kernel refuses (ENOSYS: no io_uring; EPERM: disabled by
     *     sysctl or a seccomp filter; EINVAL: a flag it does not know; ENOMEM, EMFILE)
     */
    Ring(int entries, int cqEntries) {
        scratch = NativeMemory.allocate(SCRATCH_SIZE + Uring.PARAMS_SIZE);
        errno = scratch.asSlice(0, 16);
        eventsArg = scratch.asSlice(16, Uring.GETEVENTS_ARG_SIZE);
        timespec = scratch.asSlice(48, 16);
        MemorySegment params = scratch.asSlice(SCRATCH_SIZE, Uring.PARAMS_SIZE);
        params.set(JAVA_INT, Uring.P_FLAGS, Uring.SETUP_CQSIZE | Uring.SETUP_SUBMIT_ALL
                | Uring.SETUP_SINGLE_ISSUER | Uring.SETUP_DEFER_TASKRUN);
        params.set(JAVA_INT, Uring.P_CQ_ENTRIES, cqEntries);
        int ring = Uring.setup(entries, params, errno);
        if (ring < 0) {
            NativeMemory.free(scratch);
            throw Errors.syscallNoFd("io_uring_setup", -ring, "cannot create this thread's io_uring");
        }
        MemorySegment sq = MemorySegment.NULL;
        MemorySegment cq = MemorySegment.NULL;
        MemorySegment entriesMap = MemorySegment.NULL;
        try {
            int features = params.get(JAVA_INT, Uring.P_FEATURES);
            int need = Uring.FEAT_SINGLE_MMAP | Uring.FEAT_NODROP | Uring.FEAT_EXT_ARG;
            if ((features & need) != need) throw Errors.syscallNoFd("io_uring_setup", Errno.ENOSYS, "the kernel lacks single mmap, no-drop or extended wait arguments");
            sqEntries = params.get(JAVA_INT, Uring.P_SQ_ENTRIES);
            int cqCount = params.get(JAVA_INT, Uring.P_CQ_ENTRIES);
            long sqOff = Uring.P_SQ_OFF;
            long cqOff = Uring.P_CQ_OFF;
            long arrayOffset = Integer.toUnsignedLong(params.get(JAVA_INT, sqOff + Uring.SQ_OFF_ARRAY));
            cqesOffset = Integer.toUnsignedLong(params.get(JAVA_INT, cqOff + Uring.CQ_OFF_CQES));
            long size = Math.max(arrayOffset + 4L * sqEntries, cqesOffset + Uring.CQE_SIZE * cqCount);
            sq = map(size, ring, Uring.OFF_SQ_RING);
            cq = sq; // IORING_FEAT_SINGLE_MMAP
            entriesMap = map(Uring.SQE_SIZE * sqEntries, ring, Uring.OFF_SQES);
            sqHeadOffset = Integer.toUnsignedLong(params.get(JAVA_INT, sqOff + Uring.OFF_HEAD));
            sqTailOffset = Integer.toUnsignedLong(params.get(JAVA_INT, sqOff + Uring.OFF_TAIL));
            sqMask = sq.get(JAVA_INT, Integer.toUnsignedLong(params.get(JAVA_INT, sqOff + Uring.OFF_RING_MASK)));
            cqHeadOffset = Integer.toUnsignedLong(params.get(JAVA_INT, cqOff + Uring.OFF_HEAD));
            cqTailOffset = Integer.toUnsignedLong(params.get(JAVA_INT, cqOff + Uring.OFF_TAIL));
            cqMask = cq.get(JAVA_INT, Integer.toUnsignedLong(params.get(JAVA_INT, cqOff + Uring.OFF_RING_MASK)));
            for (int i = 0; i < sqEntries; i++) sq.set(JAVA_INT, arrayOffset + 4L * i, i); // slot i holds SQE i, always
            sqTail = (int) INT.getAcquire(sq, sqTailOffset);
        } catch (Throwable t) {
            if (!entriesMap.equals(MemorySegment.NULL)) Uring.munmap(entriesMap);
            if (!sq.equals(MemorySegment.NULL)) Uring.munmap(sq);
            Unistd.close(ring, errno);
            NativeMemory.free(scratch);
            throw t;
        }
        fd = ring;
        QueueFds.add(ring);
        sqRing = sq;
        cqRing = cq;
        sqes = entriesMap;
        // Registering the ring fd spares the kernel an fd lookup on every enter (optional: 5.18+).
        MemorySegment update = scratch.asSlice(64, Uring.RSRC_UPDATE_SIZE);
        update.set(JAVA_INT, 0, -1);
        update.set(JAVA_LONG, 8, ring);
        if (Uring.register(ring, Uring.REGISTER_RING_FDS, update, 1, errno) == 1) {
            enterFd = update.get(JAVA_INT, 0);
            enterFlags = Uring.ENTER_REGISTERED_RING;
            registeredBy = Thread.currentThread().threadId();
        } else {
            enterFd = ring;
            enterFlags = 0;
            registeredBy = -1;
        }
    }

    private MemorySegment map(long size, int ring, long offset) {
        MemorySegment m = Uring.mmap(size, Uring.MAP_SHARED_POPULATE, ring, offset, errno);
        if (m.equals(MemorySegment.NULL)) throw Errors.syscall("mmap", ring, Uring.mmapErrno(errno), "cannot map the io_uring rings");
        return m;
    }

    /** Whether the kernel supports {@code opcode} on this ring ({@code IORING_REGISTER_PROBE}). */
    boolean supports(int opcode) {
        long size = Uring.PROBE_HEADER + Uring.PROBE_OP_SIZE * 256;
        // A confined arena's memory, not malloc's: a queue's start binds no free().
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment probe = arena.allocate(size, 8);
            if (Uring.register(fd, Uring.REGISTER_PROBE, probe, 256, errno) < 0) return false;
            int last = Byte.toUnsignedInt(probe.get(JAVA_BYTE, 0));
            if (opcode > last) return false;
            short flags = probe.get(JAVA_SHORT, Uring.PROBE_HEADER + Uring.PROBE_OP_SIZE * opcode + 2);
            return (flags & Uring.PROBE_OP_SUPPORTED) != 0;
        }
    }

    /** {@code io_uring_register} on this ring; its result or -errno. */
    int register(int opcode, MemorySegment arg, int count) {
        return Uring.register(fd, opcode, arg, count, errno);
    }

    // ---- submission ----

    /**
     * The next SQE, zeroed, as a byte offset into {@link #sqes()}; submits what is queued first if
     * the SQ ring is full.
     */
    long nextSqe() {
        int head = (int) INT.getAcquire(sqRing, sqHeadOffset);
        if (sqTail - head == sqEntries) {
            enter(0, -1);
            head = (int) INT.getAcquire(sqRing, sqHeadOffset);
            if (sqTail - head == sqEntries) throw Errors.syscall("io_uring_enter", fd, Errno.EBUSY, "the submission queue stays full");
        }
        long at = Uring.SQE_SIZE * (sqTail & sqMask);
        for (long i = 0; i < Uring.SQE_SIZE; i += 8) sqes.set(JAVA_LONG, at + i, 0L); // no slice: nothing allocated
        sqTail++;
        unsubmitted++;
        return at;
    }

    MemorySegment sqes() {
        return sqes;
    }

    /** The index of the SQE {@link #nextSqe} gave last (for {@link #withdraw}). */
    int lastIndex() {
        return sqTail - 1;
    }

    /**
     * Turns SQE {@code index} into a NOP if the kernel has not been given it yet, so it never runs
     * (its CQE, with the same user data, still comes); whether it could.
     */
    boolean withdraw(int index) {
        if (index - (sqTail - unsubmitted) < 0) return false; // submitted already
        long at = Uring.SQE_SIZE * (index & sqMask);
        sqes.set(JAVA_BYTE, at + Uring.SQE_OPCODE, Uring.OP_NOP);
        sqes.set(JAVA_BYTE, at + Uring.SQE_FLAGS, (byte) 0);
        return true;
    }

    /** Queues a cancel of the request whose user data is {@code target}; its CQE carries {@code userData}. Returns its SQE (for flags). */
    long prepCancel(long target, long userData) {
        long sqe = nextSqe();
        prep(sqe, Uring.OP_ASYNC_CANCEL, -1, target, 0, 0, userData);
        return sqe;
    }

    /** Writes the common SQE fields. */
    void prep(long sqe, byte opcode, int fd, long addr, int len, long offset, long userData) {
        sqes.set(JAVA_BYTE, sqe + Uring.SQE_OPCODE, opcode);
        sqes.set(JAVA_INT, sqe + Uring.SQE_FD, fd);
        sqes.set(JAVA_LONG, sqe + Uring.SQE_OFF, offset);
        sqes.set(JAVA_LONG, sqe + Uring.SQE_ADDR, addr);
        sqes.set(JAVA_INT, sqe + Uring.SQE_LEN, len);
        sqes.set(JAVA_LONG, sqe + Uring.SQE_USER_DATA, userData);
    }

    /** Whether SQEs wait to be submitted. */
    boolean hasUnsubmitted() {
        return unsubmitted > 0;
    }

    /**
     * Submits what is queued and runs the deferred completions; with {@code minComplete > 0},
     * sleeps until that many CQEs are ready or {@code timeoutNanos} passes (negative: no limit).
     * Returns 0, or -errno for EINTR, ETIME, EBUSY (the caller reaps and goes on).
     *
     * @throws RuntimeException the API's syscall exception on any other failure
     */
    int enter(int minComplete, long timeoutNanos) {
        int flags = Uring.ENTER_GETEVENTS | enterFlags;
        MemorySegment arg = MemorySegment.NULL;
        long argSize = 0;
        if (minComplete > 0 && timeoutNanos >= 0) {
            timespec.set(JAVA_LONG, 0, timeoutNanos / 1_000_000_000L);
            timespec.set(JAVA_LONG, 8, timeoutNanos % 1_000_000_000L);
            eventsArg.set(JAVA_LONG, Uring.GETEVENTS_ARG_TS, timespec.address());
            flags |= Uring.ENTER_EXT_ARG;
            arg = eventsArg;
            argSize = Uring.GETEVENTS_ARG_SIZE;
        }
        INT.setRelease(sqRing, sqTailOffset, sqTail);
        int submit = unsubmitted;
        int r = Uring.enter(enterFd, submit, minComplete, flags, arg, argSize, errno);
        counters.enters++;
        if (r >= 0) {
            unsubmitted -= r;
            counters.submissions += r;
            return 0;
        }
        if (r == -Errno.EINTR || r == -Errno.ETIME || r == -Errno.EBUSY) return r;
        throw Errors.syscall("io_uring_enter", fd, -r);
    }

    // ---- completion ----

    int cqHead() {
        return (int) cqRing.get(JAVA_INT, cqHeadOffset);
    }

    int cqTail() {
        return (int) INT.getAcquire(cqRing, cqTailOffset);
    }

    long cqeUserData(int index) {
        return cqRing.get(JAVA_LONG, cqesOffset + Uring.CQE_SIZE * (index & cqMask) + Uring.CQE_USER_DATA);
    }

    int cqeResult(int index) {
        return cqRing.get(JAVA_INT, cqesOffset + Uring.CQE_SIZE * (index & cqMask) + Uring.CQE_RES);
    }

    int cqeFlags(int index) {
        return cqRing.get(JAVA_INT, cqesOffset + Uring.CQE_SIZE * (index & cqMask) + Uring.CQE_FLAGS);
    }

    /** Gives the CQEs before {@code head} back to the kernel. */
    void cqAdvance(int head) {
        INT.setRelease(cqRing, cqHeadOffset, head);
    }

    /**
     * Unmaps the rings and closes the fd; the kernel cancels what is still in flight. Any thread;
     * later calls do nothing. On the thread that registered the ring fd, the registration is undone
     * first: it holds a reference to the ring, so the close alone would leave the ring (its files,
     * requests and pinned memory) alive until the thread exits, and take one of the thread's 16
     * registration slots for good. Elsewhere, the registering thread has ended (its registrations
     * went with it) or still holds it until it does.
     */
    void close() {
        synchronized (this) {
            if (closed) return;
            closed = true;
        }
        if (registeredBy == Thread.currentThread().threadId()) {
            MemorySegment update = scratch.asSlice(64, Uring.RSRC_UPDATE_SIZE);
            update.fill((byte) 0);
            update.set(JAVA_INT, 0, enterFd);
            Uring.register(fd, Uring.UNREGISTER_RING_FDS, update, 1, errno); // cannot fail but for a bad offset: the close goes on
        }
        Uring.munmap(sqes);
        Uring.munmap(sqRing);
        QueueFds.remove(fd);
        Unistd.close(fd, Native.threadErrno());
        NativeMemory.free(scratch);
    }

    /** Whether enters name the ring by its registered index (the thread had a registration slot left). */
    boolean registeredRing() {
        return enterFlags != 0;
    }

    /** Native bytes this ring holds outside the kernel's own (for the accounting tests). */
    static long accountedBytes() {
        return SCRATCH_SIZE + Uring.PARAMS_SIZE;
    }
}
