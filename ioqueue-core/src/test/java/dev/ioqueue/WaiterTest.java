package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class WaiterTest extends QueueTestSupport {
    @Test
    void readWaiterRunsOnceWhenPipeBecomesReadable() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            List<Set<Event>> seen = new ArrayList<>();
            q.await(p.readFd(), ReadyEvent.READ, (fd, events) -> {
                assertEquals(p.readFd(), fd);
                seen.add(events);
            });
            assertEquals(0, q.runOnce(java.time.Duration.ZERO), "nothing is readable yet");
            TestFds.writeByte(p.writeFd(), 7);
            q.run();
            assertEquals(List.of(Set.of(Event.READ)), seen);
            assertFalse(q.running(), "a waiter runs once");
        }
    }

    @Test
    void secondReadWaiterOnSameFdIsRejectedAndFirstIsUntouched() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            Recorder first = new Recorder();
            q.await(p.readFd(), ReadyEvent.READ, first);
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> q.await(p.readFd(), ReadyEvent.READ, (fd, ev) -> { throw new AssertionError("second waiter ran"); }));
            assertTrue(e.getMessage().contains("fd " + p.readFd()), e.getMessage());
            TestFds.writeByte(p.writeFd(), 1);
            q.run();
            assertEquals(List.of(Recorder.ready(p.readFd(), Event.READ)), first.log());
        }
    }

    @Test
    void readAndWriteWaitersShareOneFullDuplexSocket() {
        IoQueue q = IoQueue.current();
        try (Fds.SocketPair s = Fds.socketPair()) {
            List<String> ran = new ArrayList<>();
            q.await(s.first(), ReadyEvent.READ, (fd, ev) -> ran.add("read"));
            q.await(s.first(), ReadyEvent.WRITE, (fd, ev) -> ran.add("write"));
            q.runOnce(null);
            assertEquals(List.of("write"), ran);
            assertTrue(q.running(), "the READ waiter still waits");
            TestFds.writeByte(s.second(), 1);
            q.run();
            assertEquals(List.of("write", "read"), ran);
        }
    }

    @Test
    void writeWaiterRunsAfterAFullPipeIsDrained() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            assertTrue(TestFds.fill(p.writeFd()) > 0);
            boolean[] writable = {false};
            q.await(p.writeFd(), ReadyEvent.WRITE, (fd, ev) -> writable[0] = true);
            assertEquals(0, q.runOnce(java.time.Duration.ofMillis(20)), "a full pipe is not writable");
            assertFalse(writable[0]);
            TestFds.drain(p.readFd());
            q.run();
            assertTrue(writable[0]);
        }
    }

    @Test
    void hangupWakesEveryWaiterOfTheFdAndIsReported() {
        IoQueue q = IoQueue.current();
        Fds.SocketPair s = Fds.socketPair();
        try {
            TestFds.fill(s.first()); // so WRITE waits too
            List<Set<Event>> ran = new ArrayList<>();
            q.await(s.first(), ReadyEvent.READ, (fd, ev) -> ran.add(ev));
            q.await(s.first(), ReadyEvent.PRIORITY_READ, (fd, ev) -> ran.add(ev));
            q.await(s.first(), ReadyEvent.WRITE, (fd, ev) -> ran.add(ev));
            Fds.close(s.second());
            q.run();
            assertEquals(3, ran.size(), "every waiter woke: " + ran);
            for (Set<Event> ev : ran) assertTrue(ev.contains(Event.HANGUP), ev.toString());
        } finally {
            Fds.close(s.first());
        }
    }

    @Test
    void errorWakesTheWaiterAndIsReported() {
        IoQueue q = IoQueue.current();
        // A pipe's write end whose read end is gone reports EPOLLERR.
        Fds.Pipe p = Fds.pipe();
        try {
            TestFds.fill(p.writeFd());
            Set<Event>[] seen = new Set[1];
            q.await(p.writeFd(), ReadyEvent.WRITE, (fd, ev) -> seen[0] = ev);
            Fds.close(p.readFd());
            q.run();
            assertEquals(EnumSet.of(Event.ERROR), seen[0], "a full pipe without a reader reports only EPOLLERR");
        } finally {
            Fds.close(p.writeFd());
        }
    }

    @Test
    void callbackMayWaitAgainOnTheSameFd() {
        IoQueue q = IoQueue.current();
        try (Fds.Pipe p = Fds.pipe()) {
            Recorder reader = new Recorder();
            reader.then((fd, events) -> {
                if (TestFds.readByte(fd) >= 0 && reader.calls() < 3) {
                    TestFds.writeByte(p.writeFd(), 1);
                    q.await(fd, ReadyEvent.READ, reader);
                }
            });
            q.await(p.readFd(), ReadyEvent.READ, reader);
            TestFds.writeByte(p.writeFd(), 1);
            q.run();
            assertEquals(Collections.nCopies(3, Recorder.ready(p.readFd(), Event.READ)), reader.log(),
                    "three wake-ups, each read one byte");
        }
    }

    @Test
    void cancelWithdrawsOnlyThatWaiter() {
        IoQueue q = IoQueue.current();
        try (Fds.SocketPair s = Fds.socketPair()) {
            ReadyCallback a = (fd, ev) -> { throw new AssertionError("cancelled waiter ran"); };
            ReadyCallback other = (fd, ev) -> { };
            q.await(s.first(), ReadyEvent.READ, a);
            assertFalse(q.cancel(s.first(), ReadyEvent.READ, other), "another callback is not withdrawn");
            assertTrue(q.cancel(s.first(), ReadyEvent.READ, a));
            assertFalse(q.running());
            boolean[] ran = {false};
            q.await(s.first(), ReadyEvent.READ, (fd, ev) -> ran[0] = true); // at once, on the same fd
            TestFds.writeByte(s.second(), 1);
            q.run();
            assertTrue(ran[0]);
        }
    }
}
