package dev.ioqueue.benchmarks;

import static dev.ioqueue.benchmarks.FloorLibc.READ;
import static dev.ioqueue.benchmarks.FloorLibc.WRITE;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.Arrays;
import java.util.Locale;

/**
 * The floor of the ring on epoll (issue 21): benchmarks/src/main/c/ring_epoll.c in level-triggered
 * mode, call for call, in Java with FFM and nothing else — no ioqueue class. What it reaches is what
 * the JVM can do with these syscalls here, so the library's rows are also given as a fraction of it.
 *
 * <p>The same syscalls as the C ring: {@code epoll_create1(EPOLL_CLOEXEC)}; per pipe
 * {@code pipe2(O_NONBLOCK|O_CLOEXEC)} and {@code EPOLL_CTL_ADD} of its read end for {@code EPOLLIN}
 * with the pipe's index as data; the idle pipes likewise with data 1<<31; then per turn one
 * {@code epoll_wait(ep, events, 1024, -1)} and, per event, {@code read} of 1 byte and, if it got it,
 * {@code write} of it to the next pipe. errno is captured only for {@code epoll_wait}, the one call
 * after which the C program reads it (EINTR); {@code read} and {@code write} are critical downcalls
 * ({@link FloorLibc}). Every segment is made before the clock starts; a hop allocates nothing.
 * The C program's {@code setrlimit(RLIMIT_NOFILE)} is left to the JVM, which raises the soft limit itself.
 *
 * <pre>
 * struct epoll_event { uint32_t events; epoll_data_t data; };  // packed on x86-64: 12 bytes, data at 4; else 16, data at 8
 * </pre>
 */
final class FloorEpollRing {
    private static final boolean PACKED = switch (System.getProperty("os.arch")) {
        case "amd64", "x86_64" -> true;
        default -> false;
    };
    private static final long EVENT_SIZE = PACKED ? 12 : 16;
    private static final long DATA_OFFSET = PACKED ? 4 : 8; // data.u32: the low half of the u64, little-endian
    private static final int EPOLLIN = 0x001;
    private static final int EPOLL_CTL_ADD = 1;
    private static final int MAX_EVENTS = 1024;
    private static final int IDLE_DATA = 1 << 31;

    private static final MethodHandle EPOLL_CREATE1 = FloorLibc.plain("epoll_create1", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle EPOLL_CTL = FloorLibc.plain("epoll_ctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle EPOLL_WAIT = FloorLibc.capturing("epoll_wait",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));

    private FloorEpollRing() {}

    /** What one run did: hops made, seconds from the tokens' start to the last hop, tokens found in the pipes afterwards. */
    record Result(long hops, double seconds, long tokensLeft) {
        double hopsPerSecond() {
            return hops / seconds;
        }
    }

    /** Runs the ring on the calling thread; hops per second. Throws if a token was lost or made. */
    static double run(int n, int tokens, long hops, int idle) {
        Result r = ring(n, tokens, hops, idle);
        if (r.tokensLeft() != tokens) throw new IllegalStateException("Java floor (epoll): " + tokens + " tokens became " + r.tokensLeft());
        return r.hopsPerSecond();
    }

    static Result ring(int n, int tokens, long hops, int idle) {
        int[] reads = new int[n], writes = new int[n], idleReads = new int[idle], idleWrites = new int[idle];
        for (int[] fds : new int[][] {reads, writes, idleReads, idleWrites}) Arrays.fill(fds, -1);
        int ep = -1;
        try (Arena arena = Arena.ofConfined()) {
            ep = (int) EPOLL_CREATE1.invokeExact(FloorLibc.O_CLOEXEC);
            if (ep < 0) throw new IllegalStateException("epoll_create1 failed");
            FloorLibc.pipes(reads, writes, arena);
            MemorySegment event = arena.allocate(EVENT_SIZE, 8);
            for (int i = 0; i < n; i++) add(ep, reads[i], i, event);
            FloorLibc.pipes(idleReads, idleWrites, arena);
            for (int fd : idleReads) add(ep, fd, IDLE_DATA, event);
            FloorLibc.writeTokens(writes, tokens, arena);
            MemorySegment events = arena.allocate(EVENT_SIZE * MAX_EVENTS, 8);
            MemorySegment token = arena.allocate(1);
            MemorySegment errno = FloorLibc.errnoSegment(arena);
            long start = System.nanoTime();
            long done = turns(ep, reads, writes, hops, events, token, errno);
            double seconds = (System.nanoTime() - start) / 1e9;
            return new Result(done, seconds, FloorLibc.bytesInPipes(reads, arena));
        } catch (Throwable t) {
            throw FloorLibc.unchecked(t);
        } finally {
            FloorLibc.close(ep);
            for (int[] fds : new int[][] {reads, writes, idleReads, idleWrites}) FloorLibc.close(fds);
        }
    }

    private static void add(int ep, int fd, int data, MemorySegment event) throws Throwable {
        event.set(JAVA_INT, 0, EPOLLIN);
        event.set(JAVA_INT_UNALIGNED, DATA_OFFSET, data);
        if ((int) EPOLL_CTL.invokeExact(ep, EPOLL_CTL_ADD, fd, event) != 0) throw new IllegalStateException("epoll_ctl ADD failed (fd " + fd + ")");
    }

    /** The timed loop, as ring_epoll.c's: until {@code hops} hops, each turn's events all handled (so a run may end a few hops over). */
    private static long turns(int ep, int[] reads, int[] writes, long hops, MemorySegment events, MemorySegment token,
            MemorySegment errno) throws Throwable {
        int n = reads.length;
        long done = 0;
        while (done < hops) {
            int m = (int) EPOLL_WAIT.invokeExact(errno, ep, events, MAX_EVENTS, -1);
            if (m < 0) {
                if (FloorLibc.errno(errno) == FloorLibc.EINTR) continue;
                throw new IllegalStateException("epoll_wait: errno " + FloorLibc.errno(errno));
            }
            for (int j = 0; j < m; j++) {
                int i = events.get(JAVA_INT_UNALIGNED, EVENT_SIZE * j + DATA_OFFSET);
                if ((long) READ.invokeExact(reads[i], token, 1L) != 1) continue;
                long ignored = (long) WRITE.invokeExact(writes[(i + 1) % n], token, 1L);
                done++;
            }
        }
        return done;
    }

    /** {@code FloorEpollRing N T HOPS [IDLE]}: one run, printed as ring_epoll.c prints its own, and the tokens left. */
    public static void main(String[] args) {
        int n = Integer.parseInt(args[0]), t = Integer.parseInt(args[1]), idle = args.length > 3 ? Integer.parseInt(args[3]) : 0;
        Result r = ring(n, t, Long.parseLong(args[2]), idle);
        System.out.println(String.format(Locale.ROOT, "java-floor-epoll n=%d t=%d idle=%d hops=%d secs=%.3f hops_per_sec=%.0f tokens_left=%d",
                n, t, idle, r.hops(), r.seconds(), r.hopsPerSecond(), r.tokensLeft()));
    }
}
