package dev.ioqueue;

import dev.ioqueue.internal.io.FdWatch;
import dev.ioqueue.internal.os.Native;
import dev.ioqueue.internal.os.TimerFdCalls;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.Objects;
import java.util.function.LongConsumer;

/**
 * A kernel timer on {@code CLOCK_MONOTONIC} (the clock of {@link System#nanoTime()}) readable as
 * an fd: timerfd(2), non-blocking and close-on-exec. It becomes readable when it expires;
 * {@link #read()} returns how many times it expired since the last read, so a loop that wakes late
 * still counts every period. Times are to the nanosecond.
 *
 * <pre>{@code
 * try (TimerFd timer = TimerFd.open()) {
 *     timer.armPeriodic(Duration.ofMillis(20));
 *     Cancellable ticks = timer.onTicks(IoQueue.current(), n -> System.out.println(n + " ticks"));
 *     ...
 * }
 * }</pre>
 *
 * <p><b>Threading.</b> Thread-safe. Closing: {@link #close()} runs from any thread, as {@link
 * Handle#close()}: its watches and waits are dropped (each told once) on the queue that serves it,
 * and the fd is closed once, there. {@link #onTicks} is owner-thread only, like {@link
 * IoQueue#await}.
 */
public final class TimerFd implements AutoCloseable {
    private final TypedFd owned;
    /** {@link #read()}'s buffer; reads hold its lock. */
    private final MemorySegment count = MemorySegment.ofArray(new long[1]);

    private TimerFd(int fd) {
        owned = new TypedFd("TimerFd", fd);
    }

    /**
     * A new, disarmed timer.
     *
     * @throws SyscallException if {@code timerfd_create} fails (EMFILE, ENFILE, ENOMEM)
     */
    public static TimerFd open() {
        int fd = TimerFdCalls.create(TimerFdCalls.TFD_NONBLOCK | TimerFdCalls.TFD_CLOEXEC, Native.threadErrno());
        if (fd < 0) throw new SyscallException("timerfd_create", -fd, null);
        return new TimerFd(fd);
    }

    /**
     * Arms it to expire once, {@code delay} from now, replacing any earlier arming (and clearing
     * expirations not yet read). A zero delay expires at once: Linux reads a zero expiry as
     * "disarm", so it is armed for 1 ns instead.
     *
     * @throws IllegalArgumentException if {@code delay} is negative or longer than
     *     {@link Long#MAX_VALUE} nanoseconds (about 292 years)
     * @throws IllegalStateException once closed
     */
    public void armOnce(Duration delay) {
        settime(firstExpiry(nanos("delay", delay)), 0);
    }

    /** {@link #armPeriodic(Duration, Duration)} with the first expiry one {@code period} from now. */
    public void armPeriodic(Duration period) {
        armPeriodic(period, period);
    }

    /**
     * Arms it to expire {@code initialDelay} from now, then every {@code period}, replacing any
     * earlier arming (and clearing expirations not yet read). A zero {@code initialDelay} expires
     * at once (armed for 1 ns, as in {@link #armOnce}).
     *
     * @throws IllegalArgumentException if {@code period} is not positive, or either is negative or
     *     longer than {@link Long#MAX_VALUE} nanoseconds
     * @throws IllegalStateException once closed
     */
    public void armPeriodic(Duration initialDelay, Duration period) {
        long first = nanos("initial delay", initialDelay);
        long every = nanos("period", period);
        if (every == 0) throw new IllegalArgumentException("period is zero: use armOnce for a timer that expires once");
        settime(firstExpiry(first), every);
    }

    /**
     * Stops it; expirations not yet read are cleared, so {@link #read()} returns 0 until it is
     * armed again.
     *
     * @throws IllegalStateException once closed
     */
    public void disarm() {
        settime(0, 0);
    }

    /**
     * How many times it expired since the last read, and resets that count; 0 when none is pending
     * (never blocks). Wake-ups may be spurious: 0 then means "wait again".
     *
     * @throws IllegalStateException once closed
     * @throws SyscallException if {@code read} fails
     */
    public long read() {
        synchronized (count) {
            return owned.readCount(count);
        }
    }

    /**
     * Calls {@code ticks} on {@code queue}'s thread each time the timer expires, with the
     * expirations since the last call (more than 1 when the loop was late), until the returned
     * handle is cancelled. One waiter for the whole watch: it waits again before each call, so an
     * exception from {@code ticks} propagates out of {@link IoQueue#run()} and the watch goes on.
     * Owner thread only. Closing the timer ends the watch.
     *
     * @throws IllegalStateException off the owner thread, after the queue's close, if the fd
     *     already has a READ waiter in {@code queue}, or once closed
     */
    public Cancellable onTicks(IoQueue queue, LongConsumer ticks) {
        return onTicks(queue, ticks, null);
    }

    /**
     * {@link #onTicks(IoQueue, LongConsumer)}, and if the queue drops the watch (the timer closed,
     * its fd unregistered, the queue closed), {@code ifDropped} runs on the owner thread.
     */
    public Cancellable onTicks(IoQueue queue, LongConsumer ticks, Runnable ifDropped) {
        Objects.requireNonNull(ticks, "ticks");
        return TypedFd.started(new FdWatch(owned.watchQueue(queue), owned.owned(), true, ifDropped) {
            private long expirations;

            @Override
            protected boolean take() {
                expirations = read();
                return expirations != 0;
            }

            @Override
            protected void deliver() {
                ticks.accept(expirations);
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

    /** Linux reads an {@code it_value} of 0 as "disarm": a requested zero delay becomes 1 ns. */
    private static long firstExpiry(long delayNanos) {
        return Math.max(1, delayNanos);
    }

    private static long nanos(String what, Duration d) {
        Objects.requireNonNull(d, what);
        if (d.isNegative()) throw new IllegalArgumentException(what + " " + d + " is negative");
        try {
            return d.toNanos();
        } catch (ArithmeticException tooLong) {
            throw new IllegalArgumentException(what + " " + d + " is longer than Long.MAX_VALUE nanoseconds (about 292 years)");
        }
    }

    private void settime(long delayNanos, long intervalNanos) {
        int fd = owned.acquire(); // a close from another thread waits: the number stays this timer's
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment spec = arena.allocate(TimerFdCalls.ITIMERSPEC_SIZE, 8);
            int r = TimerFdCalls.setRelative(fd, delayNanos, intervalNanos, spec, Native.threadErrno());
            if (r < 0) throw new SyscallException("timerfd_settime", fd, -r);
        } finally {
            owned.release();
        }
    }
}
