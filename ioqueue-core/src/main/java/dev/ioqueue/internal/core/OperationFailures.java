package dev.ioqueue.internal.core;

import dev.ioqueue.internal.base.Errors;
import dev.ioqueue.internal.os.Errno;
import dev.ioqueue.internal.poll.Interest;
import java.io.IOException;

/** What an operation's failures of its own (not a syscall's) say: each names the fd and what to do. */
final class OperationFailures {
    private OperationFailures() {}

    /**
     * A read of the operation's own (not one of the factories', which the ring serves) on a handle
     * whose io_uring queue keeps bytes, an end or an error it read ahead: its syscall cannot see
     * them, and the OS will not report them again.
     */
    static IOException readAheadHidden(int fd) {
        return new IOException("fd " + fd + ": its io_uring queue's ring has read ahead what this operation's own syscall would"
                + " read (kept for the handle's next library read): read a handle on io_uring only through the library (the"
                + " IoOperation.read factories, Handle reads, BlockingIo), or make your own syscalls on a plain fd, or on epoll");
    }

    /** A write whose fd reported an error or hang-up ({@code events}) while a write would still block: EPIPE. */
    static IOException deadFdWrite(int fd, int events) {
        String what = (events & Interest.ERROR_BIT) != 0 ? ((events & Interest.HANGUP_BIT) != 0 ? "ERROR and HANGUP" : "ERROR") : "HANGUP";
        return Errors.io("write", fd, Errno.EPIPE, "the fd reported " + what + " but a write would still block");
    }

    /** The failure of an operation ({@code kind}) whose buffer's arena was closed (or is confined to another thread) while it waited. */
    static IOException bufferUnusable(int kind, int fd, RuntimeException cause) {
        return new IOException(name(kind) + " on fd " + fd + ": its buffer can no longer be used (" + unusableReason(cause) + ")", cause);
    }

    /** Why a buffer is unusable: the JDK's own message names neither case ("Already closed"), so say which of the two it was. */
    static String unusableReason(RuntimeException cause) {
        if (cause instanceof WrongThreadException) return "its segment is confined to another thread";
        String m = cause.getMessage();
        return m != null && m.contains("arena") ? m : "its segment's arena is closed";
    }

    /** The syscall an operation of {@code kind} makes: "read" or "write". */
    static String name(int kind) {
        return kind == Interest.WRITE ? "write" : "read";
    }
}
