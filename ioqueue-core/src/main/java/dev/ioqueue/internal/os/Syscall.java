package dev.ioqueue.internal.os;

/** The calls {@link Faults} can make fail on purpose. */
public enum Syscall {
    EPOLL_CREATE, EPOLL_CTL, EPOLL_WAIT, READ, WRITE, CLOSE, EVENTFD, PIPE, SOCKET, BIND, LISTEN, CONNECT, ACCEPT, TIMERFD, IO_URING_SETUP, IO_URING_ENTER, IO_URING_REGISTER
}
