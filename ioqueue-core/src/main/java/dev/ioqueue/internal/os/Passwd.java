package dev.ioqueue.internal.os;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * The user and group databases of {@code <pwd.h>} and {@code <grp.h>}, for naming the uid and gid
 * SO_PEERCRED reports as the JDK does: {@code getpwuid_r} and {@code getgrgid_r}, reading only the
 * name, the first field of each struct (x86-64 and aarch64 glibc).
 *
 * <pre>
 * struct passwd { char *pw_name; ... };   // 48 bytes
 * struct group  { char *gr_name; ... };   // 32 bytes
 * </pre>
 */
public final class Passwd {
    private static final int PASSWD_SIZE = 48;
    private static final int GROUP_SIZE = 32;
    /** Room for the strings the entry points to; ERANGE asks for more. */
    private static final int BUFFER_SIZE = 16 * 1024;

    private static final MethodHandle GETPWUID_R = Native.blocking("getpwuid_r",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS));
    private static final MethodHandle GETGRGID_R = Native.blocking("getgrgid_r",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS));

    private Passwd() {}

    /** The name of user {@code uid}, or null if the database has no such user (or cannot be read). */
    public static String userName(int uid) {
        return name(GETPWUID_R, uid, PASSWD_SIZE);
    }

    /** The name of group {@code gid}, or null if the database has no such group (or cannot be read). */
    public static String groupName(int gid) {
        return name(GETGRGID_R, gid, GROUP_SIZE);
    }

    private static String name(MethodHandle call, int id, int structSize) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment entry = arena.allocate(structSize, 8);
            MemorySegment buffer = arena.allocate(BUFFER_SIZE);
            MemorySegment result = arena.allocate(ADDRESS);
            // These return the error number instead of setting errno.
            int r = (int) call.invokeExact(Native.threadErrno(), id, entry, buffer, (long) BUFFER_SIZE, result);
            if (r != 0 || result.get(ADDRESS, 0).equals(MemorySegment.NULL)) return null;
            return entry.get(ADDRESS, 0).reinterpret(BUFFER_SIZE).getString(0);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }
}
