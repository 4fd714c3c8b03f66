package dev.ioqueue;

import static dev.ioqueue.internal.os.EventFdCalls.EFD_CLOEXEC;
import static dev.ioqueue.internal.os.EventFdCalls.EFD_NONBLOCK;
import static dev.ioqueue.internal.os.EventFdCalls.EFD_SEMAPHORE;

import dev.ioqueue.internal.io.FdWatch;
import dev.ioqueue.internal.os.Native;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;
import java.util.function.LongConsumer;

/**
 * A kernel counter readable as an fd: eventfd(2), non-blocking and close-on-exec. Any thread
 * {@linkplain #signal adds} to it; the fd is readable while it is above zero. In counter mode a
 * {@linkplain #take take} returns the whole count and resets it to zero; in semaphore mode
 * ({@code EFD_SEMAPHORE}) each take returns 1 and subtracts 1.
 *
 * <p>The kernel's counter is unsigned 64-bit (at most 2^64-2); {@link #signal} adds only positive
 * {@code long}s, but signals that together pass {@link Long#MAX_VALUE} make a counter-mode take
 * come back negative: read it with {@link Long#toUnsignedString(long)}.
 *
 * <p><b>Threading.</b> {@link #signal} and {@link #take} are thread-safe. Closing: {@link #close()}
 * runs from any thread, as {@link Handle#close()}: its watches and waits are dropped (each told
 * once) on the queue that serves it, and the fd is closed once, there. {@link #onSignal} is
 * owner-thread only, like {@link IoQueue#await}.
 */
public final class EventFd implements AutoCloseable {
    private final TypedFd owned;
    private final boolean semaphore;
    /** {@link #take()}'s buffer; takes hold its lock. */
    private final MemorySegment taken = MemorySegment.ofArray(new long[1]);
    /** {@link #signal}'s buffer; signals hold its lock. */
    private final MemorySegment added = MemorySegment.ofArray(new long[1]);

    private EventFd(int fd, boolean semaphore) {
        owned = new TypedFd(semaphore ? "EventFd(semaphore)" : "EventFd", fd);
        this.semaphore = semaphore;
    }

    /**
     * A counter-mode eventfd starting at {@code initial}: a take returns the whole count.
     *
     * @throws IllegalArgumentException if {@code initial} is negative
     * @throws SyscallException if {@code eventfd} fails (EMFILE, ENFILE, ENOMEM)
     */
    public static EventFd counter(int initial) {
        return create(initial, false);
    }

    /**
     * A semaphore-mode eventfd ({@code EFD_SEMAPHORE}) starting at {@code initial}: each take
     * returns 1.
     *
     * @throws IllegalArgumentException if {@code initial} is negative
     * @throws SyscallException if {@code eventfd} fails (EMFILE, ENFILE, ENOMEM)
     */
    public static EventFd semaphore(int initial) {
        return create(initial, true);
    }

    private static EventFd create(int initial, boolean semaphore) {
        if (initial < 0) throw new IllegalArgumentException("eventfd: initial value " + initial + " is negative");
        int flags = EFD_NONBLOCK | EFD_CLOEXEC | (semaphore ? EFD_SEMAPHORE : 0);
        // The binding shares this class's simple name, hence the qualified name.
        int fd = dev.ioqueue.internal.os.EventFdCalls.create(initial, flags, Native.threadErrno());
        if (fd < 0) throw new SyscallException("eventfd", -fd, null);
        return new EventFd(fd, semaphore);
    }

    /** Whether takes return 1 at a time ({@code EFD_SEMAPHORE}). */
    public boolean isSemaphore() {
        return semaphore;
    }

    /**
     * Adds {@code value} to the counter, waking whoever waits on the fd. Never blocks.
     * Thread-safe.
     *
     * @return true, or false if the counter would pass 2^64-2 (EAGAIN): nothing was added
     * @throws IllegalArgumentException if {@code value} is zero or negative
     * @throws IllegalStateException once closed
     */
    public boolean signal(long value) {
        if (value <= 0) throw new IllegalArgumentException(owned + ": signal(" + value + "): the value must be positive");
        synchronized (added) {
            added.set(ValueLayout.JAVA_LONG, 0, value);
            int fd = owned.acquire(); // a close from another thread waits: the number stays this eventfd's
            try {
                return Fds.write(fd, added) != Fds.WOULD_BLOCK;
            } finally {
                owned.release();
            }
        }
    }

    /**
     * Takes from the counter without blocking: the whole count (counter mode, which resets it) or 1
     * (semaphore mode); 0 when it is zero. The count is unsigned: above {@link Long#MAX_VALUE} it
     * comes back negative (read it with {@link Long#toUnsignedString(long)}). Thread-safe.
     *
     * @throws IllegalStateException once closed
     * @throws SyscallException if {@code read} fails
     */
    public long take() {
        synchronized (taken) {
            return owned.readCount(taken);
        }
    }

    /**
     * Calls {@code values} on {@code queue}'s thread with each take while the counter is above
     * zero (once per wake-up: the whole count, unsigned as {@link #take()}'s, or 1 in semaphore
     * mode), until the returned handle is cancelled. One waiter for the whole watch; an exception
     * from {@code values} propagates out of {@link IoQueue#run()} and the watch goes on. Owner
     * thread only. Closing the eventfd ends the watch.
     *
     * @throws IllegalStateException off the owner thread, after the queue's close, if the fd
     *     already has a READ waiter in {@code queue}, or once closed
     */
    public Cancellable onSignal(IoQueue queue, LongConsumer values) {
        return onSignal(queue, values, null);
    }

    /**
     * {@link #onSignal(IoQueue, LongConsumer)}, and if the queue drops the watch (the eventfd
     * closed, its fd unregistered, the queue closed), {@code ifDropped} runs on the owner thread.
     */
    public Cancellable onSignal(IoQueue queue, LongConsumer values, Runnable ifDropped) {
        Objects.requireNonNull(values, "values");
        return TypedFd.started(new FdWatch(owned.watchQueue(queue), owned.owned(), true, ifDropped) {
            private long value;

            @Override
            protected boolean take() {
                value = EventFd.this.take();
                return value != 0;
            }

            @Override
            protected void deliver() {
                values.accept(value);
            }
        });
    }

    /**
     * The {@link Handle} that owns the fd: to wait on it where the fd's close must end the wait
     * (Kotlin's {@code awaitReadable}, {@link IoQueue#await(Handle, ReadyEvent, ReadyCallback)}),
     * which a wait on the bare number would not. Closing the handle closes this. Thread-safe.
     */
    public Handle handle() {
        return owned.handle;
    }

    /**
     * The fd, to wait on with {@link IoQueue#await} or Kotlin's {@code awaitRead}; do not close it
     * directly.
     *
     * @throws IllegalStateException once closed
     */
    public int fd() {
        return owned.fd();
    }

    /** Whether {@link #close()} has not been called. */
    public boolean isOpen() {
        return owned.isOpen();
    }

    /**
     * Closes it, from any thread, as {@link Handle#close()} (its watches are dropped); later calls
     * do nothing (or wait for the first).
     *
     * @throws SyscallException if {@code close(2)} fails
     */
    @Override
    public void close() {
        owned.close();
    }

    @Override
    public String toString() {
        return owned.toString();
    }
}
