package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** InputStream, OutputStream and ByteChannel views of a Handle on virtual threads, through the JDK's own readers. */
class StreamsTest {
    private LoopThread loop;
    private int[] pair;

    @BeforeEach
    void setUp() throws IOException {
        loop = new LoopThread("streams-loop"); // io_uring in the io_uring run: reads through the ring
        pair = NetFixtures.tcpPair(NetFixtures.V4);
        NetFixtures.close(pair[2]);
    }

    @AfterEach
    void tearDown() throws Exception {
        loop.close();
        for (int fd : new int[] {pair[0], pair[1]}) if (NetFixtures.isOpen(fd)) NetFixtures.close(fd);
    }

    // Outside round 22: an interrupted full write of an array (BlockingIo.writeFully(..., byte[], ...),
    // the OutputStream view's write) said bytesTransferred=0 after hundreds of KB went, so a caller
    // could not know what to send again; the ByteBuffer forms' position said it, an array's cannot
    @Test
    void anInterruptedFullWriteOfAnArraySaysHowManyBytesWent() throws Exception {
        for (String form : new String[] {"plain fd", "unbound handle", "handle on the loop", "stream view"}) {
            int[] p = NetFixtures.tcpPair(NetFixtures.V4);
            NetFixtures.close(p[2]);
            Handle h = form.equals("plain fd") ? null : form.equals("unbound handle") ? Handle.of(p[0]) : Handle.of(p[0], loop.queue);
            byte[] big = new byte[8 << 20];
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    switch (form) {
                        case "plain fd" -> BlockingIo.writeFully(p[0], big, 0, big.length);
                        case "stream view" -> Streams.outputStream(h).write(big);
                        default -> BlockingIo.writeFully(h, big, 0, big.length);
                    }
                } catch (Throwable t) {
                    thrown.set(t);
                }
            });
            // Some bytes went (so there is something to count), and the writer waits for room.
            assertTrue(Fds.awaitReady(p[1], ReadyEvent.READ, java.time.Duration.ofSeconds(10)).contains(Event.READ), form);
            VirtualThreadTest.awaitParked(writer);
            writer.interrupt();
            writer.join(10_000);
            assertInstanceOf(InterruptedIOException.class, thrown.get(), form);
            if (h != null) h.close(); // what its send buffer holds still goes, then end-of-file
            else NetFixtures.close(p[0]);
            long arrived = TestFds.readToEnd(p[1]);
            assertTrue(arrived > 0, form + ": something went before the interrupt");
            assertEquals(arrived, ((InterruptedIOException) thrown.get()).bytesTransferred, form + ": bytesTransferred is what the peer got");
            NetFixtures.close(p[1]);
        }
    }

    @Test
    void sixtyFourMebibytesArriveByteExact() throws Exception {
        long total = 64L << 20;
        long seed = 1919;
        Handle out = Handle.of(pair[0]);
        Handle in = Handle.of(pair[1], loop.queue);
        CompletableFuture<Void> wrote = virtual(() -> {
            try (OutputStream os = new BufferedOutputStream(Streams.outputStream(out), 50_000)) {
                Random r = new Random(seed);
                byte[] chunk = new byte[70_001]; // odd sizes: no boundary lines up by luck
                for (long sent = 0; sent < total; sent += chunk.length) {
                    int n = (int) Math.min(chunk.length, total - sent);
                    r.nextBytes(chunk);
                    os.write(chunk, 0, n);
                }
            }
        });
        Random expect = new Random(seed);
        byte[] want = new byte[70_001];
        byte[] got = new byte[70_001];
        long received = 0;
        try (DataInputStream is = new DataInputStream(Streams.inputStream(in))) {
            while (received < total) {
                int n = (int) Math.min(want.length, total - received);
                expect.nextBytes(want);
                is.readFully(got, 0, n);
                assertEquals(-1, java.util.Arrays.mismatch(want, 0, n, got, 0, n), "at byte " + received);
                received += n;
            }
            wrote.get(60, TimeUnit.SECONDS);
            assertEquals(-1, is.read(), "end of file after the writer closed");
        }
        assertEquals(total, received);
        assertFalse(in.isOpen(), "closing the stream closed the handle");
    }

    @Test
    void theJdksReadersAndWritersWorkOnTheViews() throws Exception {
        Handle a = Handle.of(pair[0]);
        Handle b = Handle.of(pair[1]);
        CompletableFuture<Void> wrote = virtual(() -> {
            try (PrintWriter w = new PrintWriter(Streams.outputStream(a), false, StandardCharsets.UTF_8)) {
                for (int i = 0; i < 1000; i++) w.println("line " + i + " é");
            }
        });
        try (BufferedReader r = new BufferedReader(new InputStreamReader(Streams.inputStream(b), StandardCharsets.UTF_8))) {
            for (int i = 0; i < 1000; i++) assertEquals("line " + i + " é", r.readLine());
            assertNull(r.readLine());
        }
        wrote.get(10, TimeUnit.SECONDS);
    }

    @Test
    void channelViewsWorkWithTheJdksChannels() throws Exception {
        Handle a = Handle.of(pair[0]);
        Handle b = Handle.of(pair[1]);
        ByteChannel ca = Streams.channel(a);
        ByteChannel cb = Streams.channel(b);
        CompletableFuture<Void> wrote = virtual(() -> {
            try (DataOutputStream out = new DataOutputStream(Channels.newOutputStream(ca))) {
                out.writeLong(0x1122334455667788L);
                out.writeUTF("channels");
            }
        });
        try (DataInputStream in = new DataInputStream(Channels.newInputStream(cb))) {
            assertEquals(0x1122334455667788L, in.readLong());
            assertEquals("channels", in.readUTF());
            assertEquals(-1, cb.read(ByteBuffer.allocate(1)));
        }
        wrote.get(10, TimeUnit.SECONDS);
        assertFalse(cb.isOpen());
        assertThrows(ClosedChannelException.class, () -> cb.read(ByteBuffer.allocate(1)));
    }

    @Test
    void closingOneViewClosesTheSocketAndThePeerSeesEndOfFile() throws IOException {
        Handle a = Handle.of(pair[0]);
        InputStream in = Streams.inputStream(a);
        OutputStream out = Streams.outputStream(a);
        out.write(5);
        in.close();
        assertFalse(a.isOpen());
        assertThrows(ClosedChannelException.class, () -> out.write(6), "the other view's socket is gone too");
        // outside round 24: available() on a closed stream returned 0 (the JDK's streams throw)
        assertThrows(ClosedChannelException.class, in::available);
        byte[] buf = new byte[4];
        assertEquals(1, BlockingIo.read(pair[1], buf, 0, 4));
        assertEquals(Fds.EOF, BlockingIo.read(pair[1], buf, 0, 4));
    }

    @Test
    void aPeerResetIsAnIOExceptionWithItsErrnoInBlockingIoAndInTheStreamView() throws Exception {
        // BlockingIo on a plain fd
        resetPeer(pair[1]);
        IOException direct = assertThrows(IOException.class, () -> BlockingIo.read(pair[0], new byte[8], 0, 8));
        assertResetOf(direct);

        // the stream view of a handle bound to a loop (the ring's read on io_uring)
        int[] second = NetFixtures.tcpPair(NetFixtures.V6);
        NetFixtures.close(second[2]);
        Handle h = Handle.of(second[0], loop.queue);
        try (InputStream in = Streams.inputStream(h)) {
            resetPeer(second[1]);
            IOException viaStream = assertThrows(IOException.class, () -> in.read(new byte[8]));
            assertResetOf(viaStream);
        }
        // and a write after the reset: EPIPE or ECONNRESET, an IOException all the same
        int[] third = NetFixtures.tcpPair(NetFixtures.V4);
        NetFixtures.close(third[2]);
        try (Handle w = Handle.of(third[0])) {
            resetPeer(third[1]);
            Thread.sleep(20);
            IOException viaWrite = assertThrows(IOException.class, () -> {
                for (int i = 0; i < 100; i++) BlockingIo.writeFully(w, new byte[1024], 0, 1024);
            });
            assertInstanceOf(java.net.SocketException.class, viaWrite);
            Errno errno = SyscallFailure.of(viaWrite).errno();
            assertTrue(errno == Errno.EPIPE || errno == Errno.ECONNRESET, errno.toString());
        }
    }

    private static void assertResetOf(IOException e) {
        assertInstanceOf(java.net.SocketException.class, e, "the JDK's own SocketException");
        SyscallFailure f = SyscallFailure.of(e);
        assertEquals(Errno.ECONNRESET, f.errno());
        assertTrue(f.fd() >= 0);
    }

    /** SO_LINGER 0 then close: the kernel sends RST instead of FIN. */
    private static void resetPeer(int fd) {
        SocketOptions.set(fd, StandardSocketOptions.SO_LINGER, 0);
        NetFixtures.close(fd);
    }

    private interface IoTask {
        void run() throws Exception;
    }

    private static CompletableFuture<Void> virtual(IoTask task) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try {
                task.run();
                done.complete(null);
            } catch (Throwable t) {
                done.completeExceptionally(t);
            }
        });
        return done;
    }
}
