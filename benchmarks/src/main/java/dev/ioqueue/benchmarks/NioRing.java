package dev.ioqueue.benchmarks;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Pipe;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/** The peer: the same ring on java.nio's Selector, keys registered once (as ../shared/bench/RingNio.java). */
final class NioRing {
    private NioRing() {}

    static double run(int n, int tokens, long hops, int idle) {
        List<Pipe> all = new ArrayList<>();
        try (Selector selector = Selector.open()) {
            Pipe[] pipes = new Pipe[n];
            for (int i = 0; i < n; i++) {
                pipes[i] = Pipe.open();
                all.add(pipes[i]);
                pipes[i].source().configureBlocking(false);
                pipes[i].sink().configureBlocking(false);
                pipes[i].source().register(selector, SelectionKey.OP_READ, i);
            }
            for (int i = 0; i < idle; i++) {
                Pipe q = Pipe.open();
                all.add(q);
                q.source().configureBlocking(false);
                q.source().register(selector, SelectionKey.OP_READ, -1);
            }
            ByteBuffer one = ByteBuffer.allocateDirect(1);
            ByteBuffer rb = ByteBuffer.allocateDirect(1);
            for (int k = 0; k < tokens; k++) {
                one.clear();
                one.put((byte) 1).flip();
                pipes[(int) ((long) k * n / tokens)].sink().write(one);
            }
            long done = 0;
            long start = System.nanoTime();
            while (done < hops) {
                selector.select();
                Iterator<SelectionKey> it = selector.selectedKeys().iterator();
                while (it.hasNext()) {
                    SelectionKey key = it.next();
                    it.remove();
                    int i = (Integer) key.attachment();
                    rb.clear();
                    if (((Pipe.SourceChannel) key.channel()).read(rb) != 1) continue;
                    rb.flip();
                    pipes[(i + 1) % n].sink().write(rb);
                    done++;
                }
            }
            return done / ((System.nanoTime() - start) / 1e9);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            for (Pipe p : all) {
                try {
                    p.source().close();
                    p.sink().close();
                } catch (IOException ignored) {
                    // closing a benchmark pipe
                }
            }
        }
    }
}
