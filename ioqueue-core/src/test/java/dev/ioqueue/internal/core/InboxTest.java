package dev.ioqueue.internal.core;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The cross-thread inbox, on one thread: FIFO, and a drain bounded by a mark. */
class InboxTest {
    @Test
    void pollReturnsTasksInTheOrderOffered() {
        Inbox inbox = new Inbox();
        assertTrue(inbox.isEmpty());
        Runnable a = () -> {};
        Runnable b = () -> {};
        inbox.offer(a);
        inbox.offer(b);
        assertFalse(inbox.isEmpty());
        assertSame(a, inbox.poll());
        assertSame(b, inbox.poll());
        assertNull(inbox.poll());
        assertTrue(inbox.isEmpty());
    }

    @Test
    void pollUpToStopsAtTheTaskThatWasNewestAtTheMark() {
        Inbox inbox = new Inbox();
        Runnable a = () -> {};
        Runnable b = () -> {};
        Runnable late = () -> {};
        inbox.offer(a);
        inbox.offer(b);
        Object mark = inbox.mark();
        inbox.offer(late);
        assertSame(a, inbox.pollUpTo(mark));
        assertSame(b, inbox.pollUpTo(mark));
        assertNull(inbox.pollUpTo(mark), "offered after the mark");
        assertSame(late, inbox.poll());
    }

    @Test
    void aMarkOfAnEmptyInboxYieldsNothing() {
        Inbox inbox = new Inbox();
        Object mark = inbox.mark();
        inbox.offer(() -> {});
        assertNull(inbox.pollUpTo(mark));
    }
}
