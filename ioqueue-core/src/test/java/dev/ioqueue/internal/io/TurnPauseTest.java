package dev.ioqueue.internal.io;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/**
 * {@link TurnPause#sleep}: a refused thread's pause. The refusal unparks the thread; when the loop
 * answered before the thread parked, that permit is still there when it pauses.
 */
class TurnPauseTest {
    /** A waiter's state word, as OperationWait and LoopWait keep theirs. */
    static final class Word {
        volatile int state = TurnPause.BUSY;
    }

    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(Word.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    // guards: the pause was one parkNanos, which a permit left by the refusal ended at once: the
    // thread asked again at once, and again (415 asks in 44 ms in TurnsTest, about 1 run in 9)
    @Test
    void aPermitLeftByTheRefusalDoesNotCutThePauseShort() {
        Word w = new Word();
        LockSupport.unpark(Thread.currentThread()); // the refusal's wake-up, before this thread parked
        long start = System.nanoTime();
        TurnPause.sleep(STATE, w, TimeUnit.MILLISECONDS.toNanos(50));
        long slept = System.nanoTime() - start;
        assertTrue(slept >= TimeUnit.MILLISECONDS.toNanos(50), "the pause ended after " + slept + " ns");
    }

    @Test
    void aHandedTurnEndsThePauseAtOnce() throws Exception {
        Word w = new Word();
        Thread sleeper = Thread.currentThread();
        Thread hander = Thread.ofPlatform().start(() -> {
            while (sleeper.getState() != Thread.State.TIMED_WAITING) Thread.onSpinWait();
            TurnPause.hand(STATE, w, sleeper);
        });
        long start = System.nanoTime();
        TurnPause.sleep(STATE, w, TimeUnit.SECONDS.toNanos(60));
        hander.join();
        assertTrue(w.state == TurnPause.TURN, "handed the turn");
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(30), "woken by the hand-off, not the pause's end");
    }
}
