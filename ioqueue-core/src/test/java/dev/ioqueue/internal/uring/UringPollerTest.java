package dev.ioqueue.internal.uring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.ioqueue.internal.os.Uring;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The poller on a real ring: a completion handler that throws never makes a CQE come twice; a
 * closed ring gives its thread's registration slot back.
 */
class UringPollerTest {
    @Test
    void aReapInsideAHandlerIsRefusedAndEveryCqeIsHandledOnce() {
        UringPoller poller = UringPoller.open();
        try {
            List<String> seen = new ArrayList<>();
            Ring ring = poller.ring();
            poller.setSink(new UringPoller.CompletionSink() {
                @Override
                public void complete(long userData, int res, int flags) {
                    seen.add("cqe " + (userData & 0xFF));
                    if ((userData & 0xFF) == 1) {
                        IllegalStateException e = assertThrows(IllegalStateException.class, poller::submitAndReap);
                        seen.add(e.getMessage());
                    }
                }

                @Override
                public boolean expectsCompletions() {
                    return false;
                }
            });
            for (long i = 1; i <= 2; i++) ring.prep(ring.nextSqe(), Uring.OP_NOP, -1, 0, 0, 0, Long.MIN_VALUE | i);
            poller.submitAndReap();
            ring.prep(ring.nextSqe(), Uring.OP_NOP, -1, 0, 0, 0, Long.MIN_VALUE | 3);
            poller.submitAndReap(); // a later reap takes only what is new
            assertEquals(List.of("cqe 1", "io_uring completions reaped while being reaped", "cqe 2", "cqe 3"), seen);
            assertEquals(3, ring.counters.completions);
        } finally {
            poller.close();
        }
    }

    // guards (cold review, 2026-12-08): a table asked for below 64 slots was never registered
    @Test
    void aSmallFixedFileTableIsRegisteredAsAsked() throws Exception {
        String saved = System.getProperty("dev.ioqueue.uring.fixedFiles");
        System.setProperty("dev.ioqueue.uring.fixedFiles", "2");
        UringPoller poller;
        try {
            poller = UringPoller.open();
        } finally {
            if (saved == null) System.clearProperty("dev.ioqueue.uring.fixedFiles");
            else System.setProperty("dev.ioqueue.uring.fixedFiles", saved);
        }
        try (dev.ioqueue.Fds.Pipe p = dev.ioqueue.Fds.pipe()) {
            FixedFiles table = poller.fixedFiles();
            int first = table.take(p.readFd());
            int second = table.take(p.writeFd());
            assertEquals(java.util.Set.of(0, 1), java.util.Set.of(first, second));
            assertEquals(-1, table.take(p.readFd()), "full");
            table.give(first);
            table.give(second);
        } finally {
            poller.close();
        }
    }

    @Test
    void aHandlerThatThrowsLeavesEveryCqeHandledOnce() {
        UringPoller poller = UringPoller.open();
        try {
            List<Long> seen = new ArrayList<>();
            poller.setSink(new UringPoller.CompletionSink() {
                @Override
                public void complete(long userData, int res, int flags) {
                    seen.add(userData);
                    if (seen.size() == 2) throw new IllegalStateException("a handler fails on the second CQE");
                }

                @Override
                public boolean expectsCompletions() {
                    return false;
                }
            });
            Ring ring = poller.ring();
            for (long i = 1; i <= 4; i++) ring.prep(ring.nextSqe(), Uring.OP_NOP, -1, 0, 0, 0, Long.MIN_VALUE | i);
            assertThrows(IllegalStateException.class, poller::submitAndReap);
            poller.submitAndReap(); // the CQEs after the failed one, and none before it again
            assertEquals(List.of(Long.MIN_VALUE | 1, Long.MIN_VALUE | 2, Long.MIN_VALUE | 3, Long.MIN_VALUE | 4), seen);
            assertEquals(4, ring.counters.completions);
        } finally {
            poller.close();
        }
    }

    @Test
    void aClosedRingGivesItsThreadsRegistrationBack() throws Exception {
        // A thread has 16 slots for registered ring fds; a registration holds its ring alive after
        // close until the thread exits, so without unregistering, the 17th ring of a thread that
        // makes and closes queues runs unregistered (and 16 closed rings stay in the kernel).
        List<Boolean> registered = new ArrayList<>();
        Thread t = Thread.ofPlatform().start(() -> {
            for (int i = 0; i < 40; i++) {
                UringPoller poller = UringPoller.open();
                registered.add(poller.ring().registeredRing());
                poller.close();
            }
        });
        t.join();
        assertEquals(Collections.nCopies(40, true), registered);
    }

    // guards (cold review): released off its owner thread (the Cleaner; the watchdog once the Java
    // thread ended), a ring's provided buffers were unmapped though the owner's kernel thread may
    // outlive its Java thread and still complete a read into them: now their range stays reserved
    @Test
    void providedBuffersReleasedOffTheOwnerThreadKeepTheirAddressesInaccessibleAndOnItAreUnmapped() throws Exception {
        for (boolean onOwner : new boolean[] {true, false}) {
            long[] data = new long[2];
            UringPoller[] made = new UringPoller[1];
            Thread t = Thread.ofPlatform().start(() -> {
                made[0] = UringPoller.open();
                BufferRing buffers = made[0].buffers();
                data[0] = buffers.data().address();
                data[1] = buffers.data().byteSize();
                if (onOwner) made[0].close();
            });
            t.join();
            if (!onOwner) made[0].cleanup().run(); // as a Cleaner would, on another thread
            String perms = mappingAt(data[0], data[1]);
            if (onOwner) assertNotEquals("---p", perms, "unmapped (not retired): every request ended on the owner thread");
            else assertEquals("---p", perms, "reserved, inaccessible: a late write by the kernel fails");
        }
    }

    /** The permissions of the mapping that covers exactly [address, address + size) in /proc/self/maps, or null. */
    private static String mappingAt(long address, long size) throws java.io.IOException {
        for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/maps"))) {
            String[] f = line.split("\\s+");
            String[] range = f[0].split("-");
            long from = Long.parseUnsignedLong(range[0], 16);
            long to = Long.parseUnsignedLong(range[1], 16);
            if (from <= address && address + size <= to) return f[1];
        }
        return null;
    }
}
