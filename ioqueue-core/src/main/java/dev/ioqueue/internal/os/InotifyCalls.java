package dev.ioqueue.internal.os;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * inotify(7), from {@code <sys/inotify.h>}. Each call returns the syscall's result or
 * {@code -errno}; the accessors read one {@code struct inotify_event} of a read buffer.
 *
 * <pre>
 * struct inotify_event {  // 16 bytes, then the name
 *     int      wd;        // offset 0: the watch, -1 for IN_Q_OVERFLOW
 *     uint32_t mask;      // offset 4: IN_* bits
 *     uint32_t cookie;    // offset 8: pairs IN_MOVED_FROM with IN_MOVED_TO
 *     uint32_t len;       // offset 12: bytes of name, NUL-padded; 0 for no name
 *     char     name[];    // offset 16
 * };
 * </pre>
 */
public final class InotifyCalls {
    public static final int IN_ACCESS = 0x1;
    public static final int IN_MODIFY = 0x2;
    public static final int IN_ATTRIB = 0x4;
    public static final int IN_CLOSE_WRITE = 0x8;
    public static final int IN_CLOSE_NOWRITE = 0x10;
    public static final int IN_OPEN = 0x20;
    public static final int IN_MOVED_FROM = 0x40;
    public static final int IN_MOVED_TO = 0x80;
    public static final int IN_CREATE = 0x100;
    public static final int IN_DELETE = 0x200;
    public static final int IN_DELETE_SELF = 0x400;
    public static final int IN_MOVE_SELF = 0x800;
    // Reported, never asked for:
    public static final int IN_UNMOUNT = 0x2000;
    public static final int IN_Q_OVERFLOW = 0x4000;
    public static final int IN_IGNORED = 0x8000;
    public static final int IN_ISDIR = 0x4000_0000;
    public static final int IN_NONBLOCK = Unistd.O_NONBLOCK;
    public static final int IN_CLOEXEC = Unistd.O_CLOEXEC;
    /** {@code sizeof(struct inotify_event)}, without the name. */
    public static final int EVENT_SIZE = 16;
    /** The longest name an event carries, without its NUL. */
    public static final int NAME_MAX = 255;

    private static final MethodHandle INIT1 = Native.nonBlocking("inotify_init1",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    // Resolves a path: may touch a slow file system, so an ordinary downcall.
    private static final MethodHandle ADD_WATCH = Native.blocking("inotify_add_watch",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle RM_WATCH = Native.nonBlocking("inotify_rm_watch",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));

    private InotifyCalls() {}

    /** {@code inotify_init1(flags)}. */
    public static int init1(int flags, MemorySegment errno) {
        try {
            return Native.check((int) INIT1.invokeExact(errno, flags), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    /** {@code inotify_add_watch(fd, path, mask)}: the watch descriptor. */
    public static int addWatch(int fd, String path, int mask, MemorySegment errno) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cPath = arena.allocateFrom(path);
            return Native.check((int) ADD_WATCH.invokeExact(errno, fd, cPath, mask), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    /** {@code inotify_rm_watch(fd, wd)}; the kernel then queues an IN_IGNORED for it. */
    public static int rmWatch(int fd, int wd, MemorySegment errno) {
        try {
            return Native.check((int) RM_WATCH.invokeExact(errno, fd, wd), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    public static int wd(MemorySegment buffer, long event) {
        return buffer.get(JAVA_INT_UNALIGNED, event);
    }

    public static int mask(MemorySegment buffer, long event) {
        return buffer.get(JAVA_INT_UNALIGNED, event + 4);
    }

    public static int cookie(MemorySegment buffer, long event) {
        return buffer.get(JAVA_INT_UNALIGNED, event + 8);
    }

    public static int nameLength(MemorySegment buffer, long event) {
        return buffer.get(JAVA_INT_UNALIGNED, event + 12);
    }

    /** The event's name, or null when it has none (the event is about the watched path itself). */
    public static String name(MemorySegment buffer, long event) {
        return nameLength(buffer, event) == 0 ? null : buffer.getString(event + EVENT_SIZE);
    }

    /** Where the event after {@code event} starts. */
    public static long next(MemorySegment buffer, long event) {
        return event + EVENT_SIZE + nameLength(buffer, event);
    }
}
