package dev.ioqueue;

import dev.ioqueue.internal.core.Waiters;

/** How the queue runs a user's {@link ReadyCallback}: the one {@link Waiters} of the API. Stateless. */
final class UserCallbacks implements Waiters {
    static final UserCallbacks INSTANCE = new UserCallbacks();

    private UserCallbacks() {}

    @Override
    public void ready(Object callback, int fd, int events) {
        ((ReadyCallback) callback).onReady(fd, Event.setOf(events));
    }

    @Override
    public void dropped(Object callback, int fd) {
        ((ReadyCallback) callback).onDropped(fd);
    }
}
