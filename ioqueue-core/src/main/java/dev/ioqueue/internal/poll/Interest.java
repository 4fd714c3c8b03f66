package dev.ioqueue.internal.poll;

/**
 * The portable bits a {@link Poller} speaks: interest and events. A waiter <em>kind</em> is 0
 * (READ), 1 (WRITE) or 2 (PRIORITY_READ), its interest bit {@code 1 << kind}; an event mask adds
 * ERROR and HANGUP. Backends translate them to and from their own; the API's {@code Event} and
 * {@code ReadyEvent} name these bits explicitly, so no layout depends on an enum's declaration order.
 */
public final class Interest {
    public static final int KINDS = 3;
    public static final int READ = 0;
    public static final int WRITE = 1;
    public static final int PRIORITY = 2;
    public static final int READ_BIT = 1;
    public static final int WRITE_BIT = 1 << 1;
    public static final int PRIORITY_BIT = 1 << 2;
    public static final int ERROR_BIT = 1 << 3;
    public static final int HANGUP_BIT = 1 << 4;
    /** Every event bit: masks range over {@code [0, MASKS)}. */
    public static final int MASKS = 1 << 5;

    private Interest() {}

    /** The interest bit a waiter of {@code kind} needs. */
    public static int bit(int kind) {
        return 1 << kind;
    }

    /** Whether {@code events} say the fd will not become ready for the asked event (HANGUP or ERROR). */
    public static boolean dead(int events) {
        return (events & (ERROR_BIT | HANGUP_BIT)) != 0;
    }
}
