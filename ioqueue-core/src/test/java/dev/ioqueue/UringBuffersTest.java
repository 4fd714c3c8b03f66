package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The io_uring backend's provided buffers: used in parts where the kernel allows (Linux 6.12,
 * {@code IOU_PBUF_RING_INC}), so small reads from many fds share one buffer side by side, and as
 * whole buffers where it does not ({@code dev.ioqueue.uring.incrementalBuffers=false} makes a
 * queue behave as on such a kernel). Each test runs both ways, on a queue of its own.
 */
class UringBuffersTest {
    private static Map<String, String> buffers(boolean incremental, int count, int size) {
        return Map.of("dev.ioqueue.uring.incrementalBuffers", String.valueOf(incremental),
                "dev.ioqueue.uring.buffers", String.valueOf(count), "dev.ioqueue.uring.bufferSize", String.valueOf(size));
    }

    // guards: a chunk's place in a shared buffer (its offset) and the buffer's hand-back once the
    // kernel and every stream are done with it; with 4 buffers of 64 bytes for 30 pipes, buffers
    // run out again and again (kept bytes spilled, reads re-armed)
    @ParameterizedTest(name = "incremental buffers: {0}")
    @ValueSource(booleans = {true, false})
    void smallWritesToThirtyPipesInterleavedArriveWholeAndInOrderThroughFourSmallBuffers(boolean incremental) throws Exception {
        UringTest.onRingThread(buffers(incremental, 4, 64), q -> {
            int n = 30;
            Random random = new Random(incremental ? 1 : 2);
            List<Fds.Pipe> pipes = new ArrayList<>();
            List<Handle> handles = new ArrayList<>();
            ByteArrayOutputStream[] sent = new ByteArrayOutputStream[n];
            ByteArrayOutputStream[] got = new ByteArrayOutputStream[n];
            try {
                for (int i = 0; i < n; i++) {
                    Fds.Pipe p = Fds.pipe();
                    pipes.add(p);
                    handles.add(Handle.of(p.readFd(), q));
                    sent[i] = new ByteArrayOutputStream();
                    got[i] = new ByteArrayOutputStream();
                }
                int[] reading = new int[n];
                for (int round = 0; round < 200; round++) {
                    for (int k = 0; k < 10; k++) { // small writes to pipes picked at random, between the loop's rounds
                        int i = random.nextInt(n);
                        byte[] b = new byte[1 + random.nextInt(7)];
                        random.nextBytes(b);
                        Fds.write(pipes.get(i).writeFd(), ByteBuffer.wrap(b));
                        sent[i].writeBytes(b);
                    }
                    for (int i = 0; i < n; i++) {
                        if (reading[i] != 0 || random.nextInt(3) == 0) continue; // some pipes' bytes stay kept for a while
                        int pipe = i;
                        ByteBuffer into = ByteBuffer.allocate(1 + random.nextInt(5));
                        reading[i] = 1;
                        q.submit(handles.get(i), IoOperation.read(into, (fd, count) -> {
                            got[pipe].write(into.array(), 0, (int) count);
                            reading[pipe] = 0;
                        }));
                    }
                    q.runOnce(java.time.Duration.ZERO);
                }
                for (int i = 0; i < n; i++) {
                    int pipe = i;
                    byte[] last = {(byte) i, 1, 2, 3, 4, 5, 6, 7}; // for a read still pending
                    Fds.write(pipes.get(i).writeFd(), ByteBuffer.wrap(last));
                    sent[i].writeBytes(last);
                    UringTest.runUntil(q, () -> reading[pipe] == 0);
                    int missing = sent[i].size() - got[i].size();
                    if (missing == 0) continue;
                    ByteBuffer rest = ByteBuffer.allocate(missing);
                    long[] r = {-9};
                    q.submit(handles.get(i), IoOperation.readFully(rest, (fd, count) -> r[0] = count));
                    UringTest.runUntil(q, () -> r[0] != -9);
                    got[i].write(rest.array(), 0, (int) r[0]);
                }
                for (int i = 0; i < n; i++) assertArrayEquals(sent[i].toByteArray(), got[i].toByteArray(), "pipe " + i);
                assertEquals(0, q.stats().keptBytes(), "nothing left kept");
            } finally {
                for (Handle h : handles) h.close();
                for (Fds.Pipe p : pipes) Fds.close(p.writeFd());
            }
        });
    }

    // guards: with whole buffers a one-byte read takes a buffer of its own, so 100 pipes' single
    // bytes need 100 buffers; in parts they share the first one and no read runs out
    @ParameterizedTest(name = "incremental buffers: {0}")
    @ValueSource(booleans = {true, false})
    void oneByteFromEachOfAHundredPipesFitsInOneBufferWhenBuffersAreUsedInParts(boolean incremental) throws Exception {
        UringTest.onRingThread(buffers(incremental, 2, 4096), q -> {
            int n = 100;
            List<Fds.Pipe> pipes = new ArrayList<>();
            List<Handle> handles = new ArrayList<>();
            try {
                int[] done = {0};
                for (int i = 0; i < n; i++) {
                    Fds.Pipe p = Fds.pipe();
                    pipes.add(p);
                    handles.add(Handle.of(p.readFd(), q));
                    int expected = i;
                    ByteBuffer one = ByteBuffer.allocate(1);
                    q.submit(handles.get(i), IoOperation.read(one, (fd, count) -> {
                        assertEquals((byte) expected, one.get(0), "pipe " + expected + "'s byte");
                        done[0]++;
                    }));
                }
                q.runOnce(java.time.Duration.ZERO); // every read armed in the kernel
                long before = q.stats().ringSubmissions();
                for (int i = 0; i < n; i++) Fds.write(pipes.get(i).writeFd(), ByteBuffer.wrap(new byte[] {(byte) i}));
                UringTest.runUntil(q, () -> done[0] == n);
                long again = q.stats().ringSubmissions() - before;
                if (incremental) assertEquals(0, again, "no read ran out of buffers, so none was armed again");
                else assertTrue(again > 0, "whole buffers: reads ran out of buffers and were armed again (" + again + ")");
            } finally {
                for (Handle h : handles) h.close();
                for (Fds.Pipe p : pipes) Fds.close(p.writeFd());
            }
        });
    }
}
