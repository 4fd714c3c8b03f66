package dev.ioqueue.internal.core;

import java.util.Arrays;

/**
 * The plain fds whose close through the library is under way on the queue's thread (their waiters
 * being told), innermost last: a {@code dropped} may close another fd in turn. Nothing may wait on
 * one of them meanwhile, nor close it again, nor own it. Owner thread only.
 */
final class ClosingFds {
    private int[] closing = new int[2];
    private int count;

    void push(int fd) {
        if (count == closing.length) closing = Arrays.copyOf(closing, count * 2);
        closing[count++] = fd;
    }

    void pop() {
        count--;
    }

    /** Refuses {@code call} on {@code fd} if its close is under way. */
    void refuse(String call, int fd) {
        for (int i = 0; i < count; i++) {
            if (closing[i] == fd) {
                throw new IllegalStateException(call + ": fd " + fd + " is being closed (its close tells its waiters first): "
                        + (call.equals("close") ? "that close closes it, once"
                        : call.equals("Handle.of") ? "a handle of it would outlive the number" : "nothing may wait on it now"));
            }
        }
    }
}
