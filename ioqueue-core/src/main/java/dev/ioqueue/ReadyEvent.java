package dev.ioqueue;

import dev.ioqueue.internal.poll.Interest;

/** What a waiter can wait for. Each has the {@link Event} of the same name. */
public enum ReadyEvent {
    /** The fd is readable: {@link Event#READ}. */
    READ(Interest.READ),
    /** The fd is writable: {@link Event#WRITE}. */
    WRITE(Interest.WRITE),
    /** The fd has priority data, such as TCP urgent data: {@link Event#PRIORITY_READ}. */
    PRIORITY_READ(Interest.PRIORITY);

    /** The waiter kind the layers below use for it: explicit, so no layout depends on declaration order. */
    final int kind;

    ReadyEvent(int kind) {
        this.kind = kind;
    }
}
