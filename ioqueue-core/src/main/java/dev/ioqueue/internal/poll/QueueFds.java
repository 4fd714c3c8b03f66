package dev.ioqueue.internal.poll;

import java.util.Arrays;

/**
 * The fds of every open queue's poller, process-wide (epoll fds, wake-up eventfds, io_uring fds):
 * what no caller may close or take as its own, whichever thread's queue they belong to (a stale
 * number of the caller's may name one). A poller adds its fds once it made them and removes each
 * before it closes it, so a number the kernel hands out again is never refused. Any thread: reads
 * take a copy-on-write array without a lock (a few fds per queue, changed only as queues open
 * and close).
 */
public final class QueueFds {
    private static volatile int[] sorted = new int[0];

    private QueueFds() {}

    public static synchronized void add(int fd) {
        int[] now = sorted;
        int at = Arrays.binarySearch(now, fd);
        if (at >= 0) return;
        int insert = -at - 1;
        int[] next = new int[now.length + 1];
        System.arraycopy(now, 0, next, 0, insert);
        next[insert] = fd;
        System.arraycopy(now, insert, next, insert + 1, now.length - insert);
        sorted = next;
    }

    public static synchronized void remove(int fd) {
        int[] now = sorted;
        int at = Arrays.binarySearch(now, fd);
        if (at < 0) return;
        int[] next = new int[now.length - 1];
        System.arraycopy(now, 0, next, 0, at);
        System.arraycopy(now, at + 1, next, at, now.length - at - 1);
        sorted = next;
    }

    /** Whether {@code fd} is one of an open queue's own fds now. */
    public static boolean contains(int fd) {
        return Arrays.binarySearch(sorted, fd) >= 0;
    }
}
