package dev.ioqueue.internal.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ioqueue.internal.poll.Interest;
import org.junit.jupiter.api.Test;

/** The batch of collected callbacks, and when an entry stops being live. */
class ReadyBatchTest {
    private static final Object A = new Object();
    private static final Object B = new Object();
    /** The queue's users' callbacks are opaque here: only the library's own waiters are told. */
    private static final Waiters NOBODY = new Waiters() {
        @Override
        public void ready(Object callback, int fd, int events) {
            throw new AssertionError("ran");
        }

        @Override
        public void dropped(Object callback, int fd) {
            throw new AssertionError("a user callback told");
        }
    };

    @Test
    void entriesComeOutInTheOrderTheyWentIn() {
        ReadyBatch batch = new ReadyBatch();
        Registration r1 = new Registration(1);
        Registration r2 = new Registration(2);
        batch.add(r1, 0, Interest.READ_BIT, A);
        batch.add(r2, 1, Interest.WRITE_BIT | Interest.HANGUP_BIT, B);
        assertSame(r1, batch.registration());
        assertSame(A, batch.callback());
        assertEquals(Interest.READ_BIT, batch.eventMask());
        batch.pop();
        assertSame(r2, batch.registration());
        assertEquals(Interest.WRITE_BIT | Interest.HANGUP_BIT, batch.eventMask());
        batch.pop();
        assertTrue(batch.isEmpty());
    }

    @Test
    void anEntryDiesWhenItsRegistrationsEpochAdvances() {
        ReadyBatch batch = new ReadyBatch();
        Registration r = new Registration(3);
        batch.add(r, 0, Interest.READ_BIT, A);
        assertTrue(batch.live());
        r.epoch++;
        assertFalse(batch.live());
    }

    @Test
    void removeWithdrawsExactlyTheNamedWaiter() {
        ReadyBatch batch = new ReadyBatch();
        Registration r = new Registration(4);
        batch.add(r, 0, Interest.READ_BIT, A);
        batch.add(r, 1, Interest.WRITE_BIT, B);
        assertFalse(batch.remove(r, 0, B), "wrong kind for B");
        assertTrue(batch.remove(r, 1, B));
        assertFalse(batch.remove(r, 1, B), "only once");
        assertTrue(batch.live());
        batch.pop();
        assertFalse(batch.live(), "B's entry was withdrawn");
    }

    @Test
    void takeAllMovesTheLiveEntriesOfOneRegistrationToBeTold() {
        ReadyBatch batch = new ReadyBatch();
        Registration r = new Registration(5);
        Registration other = new Registration(6);
        java.util.List<String> told = new java.util.ArrayList<>();
        Waiter x = dropRecorder("x", told);
        Waiter y = dropRecorder("y", told);
        batch.add(r, 0, Interest.READ_BIT, x);
        batch.add(other, 0, Interest.READ_BIT, B);
        batch.add(r, 1, Interest.WRITE_BIT, y);
        Dropped dropped = new Dropped(NOBODY);
        batch.takeAll(r, dropped);
        assertEquals(null, dropped.tell(null));
        assertEquals(java.util.Set.of("x 5", "y 5"), new java.util.HashSet<>(told));
        assertFalse(batch.live(), "r's first entry is gone");
        batch.pop();
        assertTrue(batch.live(), "other's entry stays");
        assertSame(B, batch.callback());
        batch.pop();
        assertFalse(batch.live());
    }

    private static Waiter dropRecorder(String name, java.util.List<String> told) {
        return new Waiter() {
            @Override
            public void ready(int fd, int events) {
                throw new AssertionError("ran");
            }

            @Override
            public void dropped(int fd) {
                told.add(name + " " + fd);
            }
        };
    }

    @Test
    void growsPastItsInitialSizeKeepingOrder() {
        ReadyBatch batch = new ReadyBatch();
        Registration r = new Registration(7);
        for (int i = 0; i < 1000; i++) batch.add(r, 0, i & 31, A);
        for (int i = 0; i < 1000; i++) {
            assertEquals(i & 31, batch.eventMask());
            batch.pop();
        }
        assertTrue(batch.isEmpty());
    }
}
