package dev.ioqueue.internal.os;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * poll(2) of one fd with a zero timeout: "is it ready right now?" for an fd that cannot be read
 * to find out (a pidfd). Returns the fd's {@code revents} or {@code -errno}.
 *
 * <pre>
 * struct pollfd {     // 8 bytes
 *     int   fd;       // offset 0
 *     short events;   // offset 4: what to check
 *     short revents;  // offset 6: what is ready
 * };
 * </pre>
 */
public final class PollCalls {
    public static final int POLLIN = 0x1;
    public static final int POLLPRI = 0x2;
    public static final int POLLOUT = 0x4;
    public static final int POLLERR = 0x8;
    public static final int POLLHUP = 0x10;
    /** The peer shut its sending side down, or (a datagram socket) this socket its receiving side. */
    public static final int POLLRDHUP = 0x2000;
    /** In {@code revents}: the fd is not open. */
    public static final int POLLNVAL = 0x20;
    private static final long POLLFD_SIZE = 8;

    // Critical: with a zero timeout poll never sleeps.
    private static final MethodHandle POLL = Native.nonBlocking("poll",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));

    // Each thread's pollfd, owned by the thread and freed with it by the GC (as Native's errno
    // segment): a look after every wake-up allocates nothing. A class, not a lambda (startup).
    private static final ThreadLocal<MemorySegment> POLLFD = new ThreadLocal<>() {
        @Override
        protected MemorySegment initialValue() {
            return Arena.ofAuto().allocate(POLLFD_SIZE, 4);
        }
    };

    private PollCalls() {}

    /** {@code poll({fd, events}, 1, 0)}: the ready events of {@code fd} (0: none), or {@code -errno}. */
    public static int readyNow(int fd, int events, MemorySegment errno) {
        try {
            MemorySegment pollfd = POLLFD.get();
            pollfd.set(JAVA_INT, 0, fd);
            pollfd.set(JAVA_SHORT, 4, (short) events);
            int r = Native.check((int) POLL.invokeExact(errno, pollfd, 1L, 0), errno);
            return r < 0 ? r : Short.toUnsignedInt(pollfd.get(JAVA_SHORT, 6));
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }
}
