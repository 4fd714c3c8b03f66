package dev.ioqueue;

/** What a waiter can wait for. Each has the {@link Event} of the same name. */
public enum ReadyEvent {
    /** The fd is readable: {@link Event#READ}. */
    READ,
    /** The fd is writable: {@link Event#WRITE}. */
    WRITE,
    /** The fd has priority data, such as TCP urgent data: {@link Event#PRIORITY_READ}. */
    PRIORITY_READ
}
