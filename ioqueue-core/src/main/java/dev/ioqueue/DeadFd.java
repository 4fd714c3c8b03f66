package dev.ioqueue;

import java.util.Set;

/**
 * The one rule for an fd that reports HANGUP or ERROR while an operation on it still would block:
 * the operation ends instead of waiting again (which would spin, since the OS keeps reporting it).
 * A read ends with {@link Fds#EOF}; a write fails with EPIPE.
 */
final class DeadFd {
    private DeadFd() {}

    /** Whether {@code events} (what woke the wait) say the fd will never become ready. */
    static boolean reported(Set<Event> events) {
        return events != null && (events.contains(Event.HANGUP) || events.contains(Event.ERROR));
    }

    /** What a write that still would block on such an fd fails with. */
    static SyscallException writeFailure(int fd, Set<Event> events) {
        return new SyscallException("write", fd, Errno.EPIPE.number(), "the fd reported " + events + " but a write would still block");
    }
}
