package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * I/O on heap buffers and arrays, whose bytes go through native scratch memory: a virtual thread
 * borrows it for the call instead of keeping its own.
 */
class HeapBuffersTest {
    // guards: outside round 23 saw native memory ("Other" in NMT) grow with threads that read into
    // arrays and end, freed only by a GC: each thread kept a 64 KiB scratch segment of its own, so
    // a server of many short virtual threads held 64 KiB of native memory per finished thread
    @Test
    void virtualThreadsReadingArraysDoNotEachKeepTheirOwnNativeScratchMemory() throws Exception {
        int threads = 2000;
        try (Fds.Pipe p = Fds.pipe()) {
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            long before = 0;
            for (int i = 0; i <= threads; i++) {
                if (i == 1) before = directMemoryUsed(); // after the first, which may make the shared scratch
                TestFds.writeByte(p.writeFd(), i & 0x7F);
                int expected = i & 0x7F;
                Thread t = Thread.ofVirtual().start(() -> {
                    try {
                        byte[] one = new byte[1];
                        assertEquals(1, BlockingIo.read(p.readFd(), one, 0, 1));
                        assertEquals(expected, one[0]);
                    } catch (Throwable e) {
                        thrown.compareAndSet(null, e);
                    }
                });
                t.join();
            }
            assertEquals(null, thrown.get());
            long grew = directMemoryUsed() - before;
            // Kept per thread, 2,000 finished threads held 125 MiB until a GC (none runs meanwhile here)
            assertTrue(grew < (8 << 20), threads + " virtual threads that read into an array left " + (grew >> 10) + " KiB of native memory held");
        }
    }

    // guards: outside round 24: the datagram calls kept a per-thread block of their own (64 KiB at
    // least), so 2,000 short virtual threads sending or receiving a datagram each held 125 MiB
    // until a GC (1.3 GB over three rounds of 8,000; with -XX:+DisableExplicitGC, OutOfMemoryError)
    @Test
    void virtualThreadsSendingAndReceivingDatagramsThroughHeapBuffersDoNotEachKeepNativeMemory() throws Exception {
        int threads = 2000;
        java.net.InetAddress loopback = java.net.InetAddress.getLoopbackAddress();
        int a = Datagrams.bindUdp(loopback, 0);
        int b = Datagrams.bindUdp(loopback, 0);
        try {
            java.net.SocketAddress toB = Sockets.localAddress(b);
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            long before = 0;
            for (int i = 0; i <= threads; i++) {
                if (i == 1) before = directMemoryUsed();
                byte value = (byte) i;
                Thread t = Thread.ofVirtual().start(() -> {
                    try {
                        assertEquals(1, Datagrams.send(a, java.nio.ByteBuffer.wrap(new byte[] {value}), toB));
                        java.nio.ByteBuffer in = java.nio.ByteBuffer.allocate(16);
                        assertEquals(1, Datagrams.receive(b, in).length());
                        assertEquals(value, in.get(0));
                    } catch (Throwable e) {
                        thrown.compareAndSet(null, e);
                    }
                });
                t.join();
            }
            assertEquals(null, thrown.get());
            long grew = directMemoryUsed() - before;
            assertTrue(grew < (8 << 20), threads + " virtual threads that sent and received a datagram left " + (grew >> 10) + " KiB of native memory held");
        } finally {
            Fds.close(a);
            Fds.close(b);
        }
    }

    // guards: outside round 26: a datagram over 64 KiB through a heap buffer on a virtual thread
    // took a new native block per call, left to the GC (484 MB after 5,000 of 100 KB; an
    // OutOfMemoryError with the direct memory capped and explicit GC disabled)
    @Test
    void aVirtualThreadsDatagramsOver64KiBThroughHeapBuffersDoNotPileUpNativeMemory() throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("heapdg");
        java.net.UnixDomainSocketAddress pathA = java.net.UnixDomainSocketAddress.of(dir.resolve("a"));
        java.net.UnixDomainSocketAddress pathB = java.net.UnixDomainSocketAddress.of(dir.resolve("b"));
        int a = Datagrams.openUnix(pathA);
        int b = Datagrams.openUnix(pathB);
        int size = 100_000;
        int rounds = 300;
        try {
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            long[] grew = new long[1];
            Thread t = Thread.ofVirtual().start(() -> {
                try {
                    byte[] out = new byte[size];
                    java.nio.ByteBuffer in = java.nio.ByteBuffer.allocate(size + 10);
                    long before = 0;
                    for (int i = 0; i <= rounds; i++) {
                        if (i == 1) before = directMemoryUsed();
                        out[i % size] = (byte) i;
                        assertEquals(size, Datagrams.send(a, java.nio.ByteBuffer.wrap(out), pathB));
                        assertEquals(size, Datagrams.receive(b, in.clear()).length());
                        assertEquals((byte) i, in.get(i % size));
                    }
                    grew[0] = directMemoryUsed() - before;
                } catch (Throwable e) {
                    thrown.compareAndSet(null, e);
                }
            });
            t.join(30_000);
            assertEquals(null, thrown.get());
            // A block per call: 2 × 300 × ~100 KB = ~60 MB until a GC
            assertTrue(grew[0] < (8 << 20), rounds + " rounds of 100 KB datagrams left " + (grew[0] >> 10) + " KiB of native memory held");
        } finally {
            Fds.close(a);
            Fds.close(b);
            java.nio.file.Files.deleteIfExists(dir.resolve("a"));
            java.nio.file.Files.deleteIfExists(dir.resolve("b"));
            java.nio.file.Files.deleteIfExists(dir);
        }
    }

    /** The JVM's direct memory in use: native segments count here too. */
    private static long directMemoryUsed() {
        return ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                .filter(b -> b.getName().equals("direct")).findFirst().orElseThrow().getMemoryUsed();
    }
}
