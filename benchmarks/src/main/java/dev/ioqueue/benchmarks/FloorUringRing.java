package dev.ioqueue.benchmarks;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.Locale;

/**
 * The floor of the ring on io_uring (issue 21): benchmarks/src/main/c/ring_uring_ops.c in the mode
 * ./bench runs it ({@code defer,single,fixed,skip,reg,mshot}, CPrograms.kt's C_URING_MODE), call
 * for call, in Java with FFM and nothing else — no ioqueue class, no liburing. What it reaches is
 * what the JVM can do with the reference's setup, so the library's io_uring rows are also given as
 * a fraction of it.
 *
 * <p>The reference's setup, as liburing 2.3 makes it: {@code io_uring_setup} with
 * {@code CQSIZE|SINGLE_ISSUER|DEFER_TASKRUN}, the smallest power of two ≥ 2N+16 (at least 64)
 * SQEs and 4 times as many CQEs; the rings mapped {@code MAP_SHARED|MAP_POPULATE} and SQ slot i
 * mapped to SQE i once; the ring fd registered ({@code IORING_REGISTER_RING_FDS}, then every
 * enter with {@code IORING_ENTER_REGISTERED_RING}); the pipes' 2N ends registered as fixed files
 * (read end of pipe i at index i, write end at N+i); a provided-buffer ring (group 7) of the
 * smallest power of two ≥ 2T+64 one-byte buffers, 64 bytes apart. Per pipe one
 * {@code IORING_OP_READ_MULTISHOT} (fixed file, buffer select); per token read one
 * {@code IORING_OP_WRITE} of it to the next pipe (fixed file, {@code IOSQE_CQE_SKIP_SUCCESS}), its
 * buffer given back, and the read queued again when its CQE lacks {@code IORING_CQE_F_MORE}. One
 * {@code io_uring_enter(submitted, 1, GETEVENTS)} per turn, and only when the CQ ring is empty.
 *
 * <p>Memory ordering as io_uring.h asks, by VarHandle: the SQ tail and the buffer ring's tail
 * stored with release (the kernel reads what was written before), the CQ tail loaded with
 * acquire, the CQ head stored with release. Every segment is made before the clock starts.
 *
 * <pre>
 * struct io_uring_params { u32 sq_entries, cq_entries, flags, sq_thread_cpu, sq_thread_idle, features, wq_fd, resv[3];
 *     struct io_sqring_offsets sq_off;  // at 40: head, tail, ring_mask, ring_entries, flags, dropped, array, resv1; u64 user_addr
 *     struct io_cqring_offsets cq_off;  // at 80: head, tail, ring_mask, ring_entries, overflow, cqes, flags, resv1; u64 user_addr
 * };                                    // 120 bytes
 * struct io_uring_sqe { u8 opcode, flags; u16 ioprio; s32 fd; u64 off, addr; u32 len, op_flags; u64 user_data;
 *     u16 buf_group, personality; s32 file_index; u64 addr3, pad; };   // 64 bytes
 * struct io_uring_cqe { u64 user_data; s32 res; u32 flags; };           // 16 bytes
 * struct io_uring_buf { u64 addr; u32 len; u16 bid; u16 resv; };        // 16 bytes; the ring's u16 tail overlays bufs[0].resv
 * </pre>
 */
final class FloorUringRing {
    private static final long SYS_SETUP = 425, SYS_ENTER = 426, SYS_REGISTER = 427;
    private static final int SETUP_CQSIZE = 1 << 3, SETUP_SINGLE_ISSUER = 1 << 12, SETUP_DEFER_TASKRUN = 1 << 13;
    private static final int FEAT_SINGLE_MMAP = 1;
    private static final int ENTER_GETEVENTS = 1, ENTER_REGISTERED_RING = 1 << 4;
    private static final int REGISTER_FILES = 2, REGISTER_RING_FDS = 20, REGISTER_PBUF_RING = 22;
    private static final long OFF_SQ_RING = 0, OFF_CQ_RING = 0x8000000L, OFF_SQES = 0x10000000L;
    private static final int PROT_READ_WRITE = 3, MAP_SHARED_POPULATE = 0x01 | 0x8000, MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20;
    private static final byte OP_WRITE = 23, OP_READ_MULTISHOT = 49;
    private static final byte SQE_FIXED_FILE = 1, SQE_BUFFER_SELECT = 1 << 5, SQE_CQE_SKIP_SUCCESS = 1 << 6;
    private static final int CQE_F_MORE = 1 << 1, CQE_BUFFER_SHIFT = 16;
    private static final short BUFFER_GROUP = 7;
    private static final long BUFFER_STRIDE = 64;
    private static final long WRITE_TAG = 1L << 40;
    private static final int EAGAIN = 11, ETIME = 62, ENOBUFS = 105;
    /** liburing passes _NSIG/8 as the sigset size, with no sigset. */
    private static final long SIGSET_SIZE = 8;

    private static final VarHandle INT = JAVA_INT.varHandle();
    private static final VarHandle SHORT = JAVA_SHORT.varHandle();
    private static final Linker.Option VARIADIC_AFTER_NUMBER = Linker.Option.firstVariadicArg(1);
    private static final MethodHandle SETUP = FloorLibc.capturing("syscall",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS), VARIADIC_AFTER_NUMBER);
    private static final MethodHandle ENTER = FloorLibc.capturing("syscall",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG), VARIADIC_AFTER_NUMBER);
    private static final MethodHandle REGISTER = FloorLibc.capturing("syscall",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG), VARIADIC_AFTER_NUMBER);
    private static final MethodHandle MMAP = FloorLibc.plain("mmap",
            FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle MUNMAP = FloorLibc.plain("munmap", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));

    private final int n;
    private final MemorySegment errno;
    private int ringFd = -1;
    private int enterFd;
    private MemorySegment sq = MemorySegment.NULL, cq = MemorySegment.NULL, sqes = MemorySegment.NULL;
    private MemorySegment bufferRing = MemorySegment.NULL, buffers = MemorySegment.NULL;
    private long sqHead, sqTail, cqHead, cqTail, cqes;
    private int sqMask, sqEntries, cqMask, bufferMask;
    /** liburing's sqe_head and sqe_tail: SQEs published to the kernel, SQEs handed out. */
    private int sqePublished, sqeTail;
    private int bufferTail;
    /** The byte each pipe's last token is written from, one per source pipe (the reference's wbuf). */
    private MemorySegment writeBuffers = MemorySegment.NULL;
    private long writeBase;
    private long enters;

    private FloorUringRing(int n, Arena arena) {
        this.n = n;
        errno = FloorLibc.errnoSegment(arena);
    }

    /** What one run did: hops made, seconds from the tokens' start to the last hop, enters, tokens found afterwards. */
    record Result(long hops, double seconds, long enters, long tokensLeft) {
        double hopsPerSecond() {
            return hops / seconds;
        }
    }

    /**
     * Runs the ring on the calling thread; hops per second. Throws {@link UnsupportedOperationException}
     * if this kernel refuses the setup, and {@link IllegalStateException} if a token was lost or made.
     */
    static double run(int n, int tokens, long hops) {
        Result r = ring(n, tokens, hops);
        if (r.tokensLeft() != tokens) throw new IllegalStateException("Java floor (io_uring): " + tokens + " tokens became " + r.tokensLeft());
        return r.hopsPerSecond();
    }

    static Result ring(int n, int tokens, long hops) {
        int[] reads = new int[n], writeEnds = new int[n];
        Arrays.fill(reads, -1);
        Arrays.fill(writeEnds, -1);
        try (Arena arena = Arena.ofConfined()) {
            FloorUringRing ring = new FloorUringRing(n, arena);
            try {
                FloorLibc.pipes(reads, writeEnds, arena);
                ring.setUp(arena, reads, writeEnds, tokens);
                for (int i = 0; i < n; i++) ring.queueRead(i);
                ring.submit();
                FloorLibc.writeTokens(writeEnds, tokens, arena);
                long start = System.nanoTime();
                long done = ring.turns(hops);
                double seconds = (System.nanoTime() - start) / 1e9;
                return new Result(done, seconds, ring.enters, ring.tokensLeft(reads, arena));
            } finally {
                ring.close();
            }
        } catch (Throwable t) {
            throw FloorLibc.unchecked(t);
        } finally {
            FloorLibc.close(reads);
            FloorLibc.close(writeEnds);
        }
    }

    private void setUp(Arena arena, int[] reads, int[] writeEnds, int tokens) throws Throwable {
        int entries = 64;
        while (entries < 2 * n + 16) entries <<= 1;
        MemorySegment params = arena.allocate(120, 8);
        params.set(JAVA_INT, 4, entries * 4);
        params.set(JAVA_INT, 8, SETUP_CQSIZE | SETUP_SINGLE_ISSUER | SETUP_DEFER_TASKRUN);
        long fd = (long) SETUP.invokeExact(errno, SYS_SETUP, (long) entries, params);
        if (fd < 0) throw new UnsupportedOperationException("io_uring_setup failed: errno " + FloorLibc.errno(errno));
        ringFd = (int) fd;
        enterFd = ringFd;
        sqEntries = params.get(JAVA_INT, 0);
        int cqEntries = params.get(JAVA_INT, 4);
        long sqArray = offset(params, 40 + 24);
        cqes = offset(params, 80 + 20);
        long sqSize = sqArray + 4L * sqEntries, cqSize = cqes + 16L * cqEntries;
        if ((params.get(JAVA_INT, 20) & FEAT_SINGLE_MMAP) != 0) {
            sq = map(Math.max(sqSize, cqSize), MAP_SHARED_POPULATE, ringFd, OFF_SQ_RING);
            cq = sq;
        } else {
            sq = map(sqSize, MAP_SHARED_POPULATE, ringFd, OFF_SQ_RING);
            cq = map(cqSize, MAP_SHARED_POPULATE, ringFd, OFF_CQ_RING);
        }
        sqes = map(64L * sqEntries, MAP_SHARED_POPULATE, ringFd, OFF_SQES);
        sqHead = offset(params, 40);
        sqTail = offset(params, 44);
        sqMask = sq.get(JAVA_INT, offset(params, 48));
        cqHead = offset(params, 80);
        cqTail = offset(params, 84);
        cqMask = cq.get(JAVA_INT, offset(params, 88));
        for (int i = 0; i < sqEntries; i++) sq.set(JAVA_INT, sqArray + 4L * i, i);
        sqeTail = sqePublished = (int) INT.getAcquire(sq, sqTail);

        MemorySegment update = arena.allocate(16, 8); // io_uring_rsrc_update { u32 offset = -1 (any); u32 resv; u64 data = fd }
        update.set(JAVA_INT, 0, -1);
        update.set(JAVA_LONG, 8, ringFd);
        register(REGISTER_RING_FDS, update, 1, "IORING_REGISTER_RING_FDS");
        enterFd = update.get(JAVA_INT, 0);

        MemorySegment files = arena.allocate(JAVA_INT, 2L * n);
        for (int i = 0; i < n; i++) {
            files.setAtIndex(JAVA_INT, i, reads[i]);
            files.setAtIndex(JAVA_INT, n + i, writeEnds[i]);
        }
        register(REGISTER_FILES, files, 2 * n, "IORING_REGISTER_FILES");
        writeBuffers = arena.allocate(n);
        writeBase = writeBuffers.address();

        int count = 1;
        while (count < 2 * tokens + 64) count <<= 1;
        bufferMask = count - 1;
        bufferRing = map(16L * count, MAP_PRIVATE_ANONYMOUS, -1, 0);
        buffers = map(BUFFER_STRIDE * count, MAP_PRIVATE_ANONYMOUS, -1, 0); // mapped: the kernel may still write as the ring closes
        MemorySegment reg = arena.allocate(40, 8); // io_uring_buf_reg { u64 ring_addr; u32 ring_entries; u16 bgid; u16 flags; u64 resv[3] }
        reg.set(JAVA_LONG, 0, bufferRing.address());
        reg.set(JAVA_INT, 8, count);
        reg.set(JAVA_SHORT, 12, BUFFER_GROUP);
        register(REGISTER_PBUF_RING, reg, 1, "IORING_REGISTER_PBUF_RING");
        for (int b = 0; b < count; b++) addBuffer(b, b);
        advanceBuffers(count);
    }

    private static long offset(MemorySegment params, long at) {
        return Integer.toUnsignedLong(params.get(JAVA_INT, at));
    }

    private MemorySegment map(long size, int flags, int fd, long offset) throws Throwable {
        MemorySegment m = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, size, PROT_READ_WRITE, flags, fd, offset);
        if (m.address() == -1L) throw new IllegalStateException("mmap of " + size + " bytes failed");
        return m.reinterpret(size);
    }

    private void register(int opcode, MemorySegment arg, int count, String what) throws Throwable {
        long r = (long) REGISTER.invokeExact(errno, SYS_REGISTER, (long) ringFd, (long) opcode, arg, (long) count);
        if (r < 0) throw new UnsupportedOperationException("io_uring_register(" + what + ") failed: errno " + FloorLibc.errno(errno));
    }

    // ---- the hot path ----

    /** The timed loop, as ring_uring_ops.c's: each turn drains the CQ ring, then gives its head back with one release store. */
    private long turns(long hops) throws Throwable {
        long done = 0;
        while (done < hops) {
            int head = cq.get(JAVA_INT, cqHead);
            int tail = (int) INT.getAcquire(cq, cqTail);
            if (head == tail) {
                enter(flush(), 1, ENTER_GETEVENTS);
                continue;
            }
            int recycled = 0;
            for (; head != tail; head++) {
                long at = cqes + 16L * (head & cqMask);
                long userData = cq.get(JAVA_LONG, at);
                int res = cq.get(JAVA_INT, at + 8);
                int flags = cq.get(JAVA_INT, at + 12);
                if ((userData & WRITE_TAG) != 0) {
                    if (res < 0) throw new IllegalStateException("write failed: errno " + -res);
                    continue;
                }
                int i = (int) userData;
                if (res < 0) {
                    if (res == -EAGAIN || res == -ENOBUFS) {
                        queueRead(i);
                        continue;
                    }
                    throw new IllegalStateException("read failed: errno " + -res + " (pipe " + i + ")");
                }
                if (res == 0) throw new IllegalStateException("EOF on pipe " + i);
                int bid = flags >>> CQE_BUFFER_SHIFT;
                byte token = buffers.get(JAVA_BYTE, BUFFER_STRIDE * bid);
                addBuffer(bid, recycled++);
                if ((flags & CQE_F_MORE) == 0) queueRead(i);
                int next = (i + 1) % n;
                writeBuffers.set(JAVA_BYTE, i, token); // one write in flight per source pipe at most
                prep(sqe(), OP_WRITE, (byte) (SQE_FIXED_FILE | SQE_CQE_SKIP_SUCCESS), n + next, writeBase + i, 1, WRITE_TAG | i, (short) 0);
                done++;
            }
            if (recycled > 0) advanceBuffers(recycled);
            INT.setRelease(cq, cqHead, tail);
        }
        return done;
    }

    private void queueRead(int i) throws Throwable {
        prep(sqe(), OP_READ_MULTISHOT, (byte) (SQE_FIXED_FILE | SQE_BUFFER_SELECT), i, 0, 0, i, BUFFER_GROUP);
    }

    /** io_uring_get_sqe, submitting what is queued first when the SQ ring is full: the SQE's byte offset in {@link #sqes}. */
    private long sqe() throws Throwable {
        if (sqeTail + 1 - (int) INT.getAcquire(sq, sqHead) > sqEntries) {
            submit();
            if (sqeTail + 1 - (int) INT.getAcquire(sq, sqHead) > sqEntries) throw new IllegalStateException("the SQ ring stays full");
        }
        return 64L * (sqeTail++ & sqMask);
    }

    /** Every field of the SQE written, as liburing's io_uring_prep_rw writes it. */
    private void prep(long at, byte opcode, byte flags, int fd, long addr, int len, long userData, short bufferGroup) {
        sqes.set(JAVA_BYTE, at, opcode);
        sqes.set(JAVA_BYTE, at + 1, flags);
        sqes.set(JAVA_SHORT, at + 2, (short) 0);
        sqes.set(JAVA_INT, at + 4, fd);
        sqes.set(JAVA_LONG, at + 8, 0L);
        sqes.set(JAVA_LONG, at + 16, addr);
        sqes.set(JAVA_INT, at + 24, len);
        sqes.set(JAVA_INT, at + 28, 0);
        sqes.set(JAVA_LONG, at + 32, userData);
        sqes.set(JAVA_SHORT, at + 40, bufferGroup);
        sqes.set(JAVA_SHORT, at + 42, (short) 0);
        sqes.set(JAVA_INT, at + 44, 0);
        sqes.set(JAVA_LONG, at + 48, 0L);
        sqes.set(JAVA_LONG, at + 56, 0L);
    }

    /** io_uring_buf_ring_add: buffer {@code bid} into the slot {@code offset} past the tail, not yet visible. */
    private void addBuffer(int bid, int offset) {
        long at = 16L * ((bufferTail + offset) & bufferMask);
        bufferRing.set(JAVA_LONG, at, buffers.address() + BUFFER_STRIDE * bid);
        bufferRing.set(JAVA_INT, at + 8, 1);
        bufferRing.set(JAVA_SHORT, at + 12, (short) bid);
    }

    /** io_uring_buf_ring_advance: makes {@code count} added buffers visible, with one release store of the tail. */
    private void advanceBuffers(int count) {
        bufferTail += count;
        SHORT.setRelease(bufferRing, 14L, (short) bufferTail);
    }

    /** liburing's __io_uring_flush_sq: publishes the SQEs handed out (release store of the SQ tail); how many the kernel has not taken. */
    private int flush() {
        if (sqePublished != sqeTail) {
            sqePublished = sqeTail;
            INT.setRelease(sq, sqTail, sqeTail);
        }
        return sqeTail - (int) INT.getAcquire(sq, sqHead);
    }

    /** io_uring_submit: enters only if there is something to submit. */
    private void submit() throws Throwable {
        int submitted = flush();
        if (submitted > 0) enter(submitted, 0, 0);
    }

    /** io_uring_enter on the registered ring fd; EINTR and ETIME are a turn like any other, as in the C reference. */
    private void enter(int submit, int minComplete, int flags) throws Throwable {
        long r = (long) ENTER.invokeExact(errno, SYS_ENTER, (long) enterFd, (long) submit, (long) minComplete,
                (long) (flags | ENTER_REGISTERED_RING), MemorySegment.NULL, SIGSET_SIZE);
        enters++;
        if (r < 0) {
            int e = FloorLibc.errno(errno);
            if (e != FloorLibc.EINTR && e != ETIME) throw new IllegalStateException("io_uring_enter failed: errno " + e);
        }
    }

    // ---- after the clock ----

    /**
     * The C reference's check: queued writes flushed and deferred task work run, then the bytes in the
     * pipes plus those held by read completions not yet handled.
     */
    private long tokensLeft(int[] reads, Arena arena) throws Throwable {
        submit();
        enter(0, 0, ENTER_GETEVENTS);
        long left = FloorLibc.bytesInPipes(reads, arena);
        for (int h = cq.get(JAVA_INT, cqHead), t = (int) INT.getAcquire(cq, cqTail); h != t; h++) {
            long at = cqes + 16L * (h & cqMask);
            if ((cq.get(JAVA_LONG, at) & WRITE_TAG) == 0 && cq.get(JAVA_INT, at + 8) > 0) left += cq.get(JAVA_INT, at + 8);
        }
        return left;
    }

    private void close() throws Throwable {
        if (!sqes.equals(MemorySegment.NULL)) unmap(sqes);
        if (!cq.equals(MemorySegment.NULL) && cq != sq) unmap(cq);
        if (!sq.equals(MemorySegment.NULL)) unmap(sq);
        FloorLibc.close(ringFd);
        if (!bufferRing.equals(MemorySegment.NULL)) unmap(bufferRing);
        if (!buffers.equals(MemorySegment.NULL)) unmap(buffers);
    }

    private static void unmap(MemorySegment m) throws Throwable {
        int ignored = (int) MUNMAP.invokeExact(m, m.byteSize());
    }

    /** {@code FloorUringRing N T HOPS}: one run, printed as ring_uring_ops.c prints its own. */
    public static void main(String[] args) {
        int n = Integer.parseInt(args[0]), t = Integer.parseInt(args[1]);
        Result r = ring(n, t, Long.parseLong(args[2]));
        System.out.println(String.format(Locale.ROOT,
                "java-floor-uring n=%d t=%d idle=0 hops=%d secs=%.3f hops_per_sec=%.0f enters=%d enters_per_hop=%.4f tokens_left=%d",
                n, t, r.hops(), r.seconds(), r.hopsPerSecond(), r.enters(), (double) r.enters() / r.hops(), r.tokensLeft()));
    }
}
