package dev.ioqueue;


/**
 * What the OS can report about an fd. A waiter is woken for the {@link ReadyEvent} it waits for,
 * and also for {@link #ERROR} and {@link #HANGUP}, which the OS always reports; the set a callback
 * receives is everything the OS reported for the fd at that moment.
 */
public enum Event {
    /** Data can be read (or a connection accepted, or EOF read). epoll's {@code EPOLLIN}. */
    READ,
    /** Data can be written without blocking. {@code EPOLLOUT}. */
    WRITE,
    /** Priority data, such as TCP urgent data, can be read. {@code EPOLLPRI}. */
    PRIORITY_READ,
    /** An error is pending on the fd (read it with the failing syscall, or {@code SO_ERROR}). {@code EPOLLERR}. */
    ERROR,
    /** The peer hung up (a pipe's other end closed, a socket fully shut down). {@code EPOLLHUP}. */
    HANGUP;
}
