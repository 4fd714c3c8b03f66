/**
 * ioqueue: a per-thread I/O queue over epoll or io_uring, reached through java.lang.foreign.
 * Only {@code dev.ioqueue} is API; the OS bindings and the queue's parts are internal.
 */
module dev.ioqueue.core {
    requires jdk.net;
    requires jdk.jfr;
    exports dev.ioqueue;
}
