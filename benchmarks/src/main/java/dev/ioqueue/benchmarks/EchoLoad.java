package dev.ioqueue.benchmarks;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.function.LongSupplier;
import org.HdrHistogram.Histogram;

/**
 * The one load generator every echo server of the benchmark faces: {@code threads} platform
 * threads, each driving its share of the connections through its own NIO {@link Selector}
 * (non-blocking sockets, TCP_NODELAY). Closed loop: each connection sends one message, waits until
 * all of it has come back (checked byte for byte), records the round trip's latency in an
 * HdrHistogram, and sends the next, until the run's fixed count of messages is spent. Nothing is
 * allocated per message.
 */
final class EchoLoad {
    private EchoLoad() {}

    /**
     * One run: requests per second over the whole run, latency percentiles in nanoseconds, and the
     * CPU time the server's process used meanwhile, per request.
     */
    record Result(long requests, double seconds, long p50, long p99, long mismatches, long serverCpuNanos) {
        double perSecond() {
            return requests / seconds;
        }

        double serverCpuPerRequest() {
            return (double) serverCpuNanos / requests;
        }
    }

    /**
     * Opens {@code connections} connections to {@code server}, echoes {@code messages} messages of
     * {@code size} bytes over them from {@code threads} threads, closes them, and reports. The
     * connections are made before the clock starts; {@code serverCpu} (nanoseconds of CPU the
     * server's process has used) is read when it starts and when the last message is back.
     */
    static Result run(InetSocketAddress server, int connections, int threads, int size, long messages, LongSupplier serverCpu) {
        List<Driver> drivers = new ArrayList<>();
        CyclicBarrier start = new CyclicBarrier(threads + 1);
        try {
            for (int t = 0; t < threads; t++) {
                // Contiguous blocks: with a server that hands connections out round-robin, each
                // client thread talks to every server loop.
                int from = connections * t / threads;
                int to = connections * (t + 1) / threads;
                long quota = messages * (t + 1) / threads - messages * t / threads;
                drivers.add(new Driver(server, to - from, size, quota, from, start));
            }
            List<Thread> running = new ArrayList<>();
            for (int t = 0; t < threads; t++) running.add(Thread.ofPlatform().name("echo-load-" + t).start(drivers.get(t)));
            long cpu0 = serverCpu.getAsLong();
            start.await();
            long began = System.nanoTime();
            for (Thread t : running) t.join();
            long cpu = serverCpu.getAsLong() - cpu0;
            long ended = drivers.stream().mapToLong(d -> d.ended).max().orElseThrow();
            Histogram all = new Histogram(3);
            long mismatches = 0;
            for (Driver d : drivers) {
                if (d.failure != null) throw new IllegalStateException("the echo client failed against " + server, d.failure);
                all.add(d.latencies);
                mismatches += d.mismatches;
            }
            return new Result(all.getTotalCount(), (ended - began) / 1e9, all.getValueAtPercentile(50), all.getValueAtPercentile(99), mismatches, cpu);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        } finally {
            for (Driver d : drivers) d.close();
        }
    }

    /**
     * Connection churn: {@code concurrency} clients at a time (split over {@code threads} threads),
     * each connecting, echoing one {@code size}-byte message and closing, until {@code total}
     * connections were served. Reports connections per second, and the latency from connect to the
     * echo. (The client closes first, so its ports wait in TIME_WAIT; Linux reuses them for new
     * loopback connections, net.ipv4.tcp_tw_reuse = 2 by default.)
     */
    static Result churn(InetSocketAddress server, int concurrency, int threads, int size, long total, LongSupplier serverCpu) {
        List<Churner> churners = new ArrayList<>();
        CyclicBarrier start = new CyclicBarrier(threads + 1);
        try {
            for (int t = 0; t < threads; t++) {
                long quota = total * (t + 1) / threads - total * t / threads;
                churners.add(new Churner(server, concurrency * (t + 1) / threads - concurrency * t / threads, size, quota, start));
            }
            List<Thread> running = new ArrayList<>();
            for (int t = 0; t < threads; t++) running.add(Thread.ofPlatform().name("echo-churn-" + t).start(churners.get(t)));
            long cpu0 = serverCpu.getAsLong();
            start.await();
            long began = System.nanoTime();
            for (Thread t : running) t.join();
            long cpu = serverCpu.getAsLong() - cpu0;
            long ended = churners.stream().mapToLong(c -> c.ended).max().orElseThrow();
            Histogram all = new Histogram(3);
            long mismatches = 0;
            for (Churner c : churners) {
                if (c.failure != null) throw new IllegalStateException("the churning client failed against " + server, c.failure);
                all.add(c.latencies);
                mismatches += c.mismatches;
            }
            return new Result(all.getTotalCount(), (ended - began) / 1e9, all.getValueAtPercentile(50), all.getValueAtPercentile(99), mismatches, cpu);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        } finally {
            for (Churner c : churners) c.close();
        }
    }

    /** One churning client thread: a few connections at a time, each replaced by a new one once its echo is back. */
    private static final class Churner implements Runnable {
        private final InetSocketAddress server;
        private final int slots;
        private final CyclicBarrier start;
        private final Selector selector;
        private final ByteBuffer message;
        private long unopened;
        private int open;
        final Histogram latencies = new Histogram(3);
        long mismatches;
        volatile long ended;
        volatile Throwable failure;

        Churner(InetSocketAddress server, int slots, int size, long quota, CyclicBarrier start) throws IOException {
            this.server = server;
            this.slots = slots;
            this.start = start;
            this.unopened = quota;
            this.selector = Selector.open();
            this.message = ByteBuffer.allocateDirect(size);
            for (int i = 0; i < size; i++) message.put(i, (byte) (i * 7));
        }

        @Override
        public void run() {
            try {
                start.await();
                for (int i = 0; i < slots && unopened > 0; i++) openOne();
                while (open > 0) selector.select(this::ready);
            } catch (Throwable t) {
                failure = t;
            } finally {
                ended = System.nanoTime();
            }
        }

        private void openOne() throws IOException {
            unopened--;
            open++;
            SocketChannel channel = SocketChannel.open();
            channel.configureBlocking(false);
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            Visit v = new Visit(channel, message.capacity(), System.nanoTime());
            if (channel.connect(server)) v.connected(channel.register(selector, 0, v), message);
            else channel.register(selector, SelectionKey.OP_CONNECT, v);
        }

        private void ready(SelectionKey key) {
            Visit v = (Visit) key.attachment();
            try {
                if (key.isConnectable()) {
                    v.channel.finishConnect();
                    v.connected(key, message);
                } else if (key.isWritable()) {
                    v.flush(key);
                } else if (key.isReadable() && v.receive()) {
                    latencies.recordValue(System.nanoTime() - v.began);
                    if (!v.in.clear().equals(message.clear())) mismatches++;
                    key.cancel();
                    v.channel.close();
                    open--;
                    if (unopened > 0) openOne();
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        void close() {
            for (SelectionKey k : selector.keys()) {
                try {
                    k.channel().close();
                } catch (IOException ignored) {
                    // closing what a failed run left open
                }
            }
            try {
                selector.close();
            } catch (IOException ignored) {
                // nothing left to release
            }
        }
    }

    /** One churned connection. */
    private static final class Visit {
        final SocketChannel channel;
        final ByteBuffer in;
        final long began;
        private ByteBuffer out;

        Visit(SocketChannel channel, int size, long began) {
            this.channel = channel;
            this.in = ByteBuffer.allocate(size);
            this.began = began;
        }

        void connected(SelectionKey key, ByteBuffer message) throws IOException {
            out = message.duplicate().clear();
            flush(key);
        }

        void flush(SelectionKey key) throws IOException {
            channel.write(out);
            key.interestOps(out.hasRemaining() ? SelectionKey.OP_WRITE : SelectionKey.OP_READ);
        }

        boolean receive() throws IOException {
            if (channel.read(in) < 0) throw new IOException("the server closed " + channel + " before echoing");
            return !in.hasRemaining();
        }
    }

    /** One client thread: its connections, its selector, its histogram. */
    private static final class Driver implements Runnable {
        private final Selector selector;
        private final Connection[] connections;
        private final CyclicBarrier start;
        private long unsent;
        private int outstanding;
        final Histogram latencies = new Histogram(3);
        long mismatches;
        volatile long ended;
        volatile Throwable failure;

        Driver(InetSocketAddress server, int count, int size, long quota, int firstId, CyclicBarrier start) throws IOException {
            this.selector = Selector.open();
            this.connections = new Connection[count];
            this.start = start;
            this.unsent = quota;
            for (int i = 0; i < count; i++) connections[i] = new Connection(server, size, firstId + i, selector);
        }

        @Override
        public void run() {
            try {
                start.await();
                for (Connection c : connections) {
                    if (unsent == 0) break;
                    unsent--;
                    outstanding++;
                    c.send();
                }
                while (outstanding > 0) selector.select(this::ready);
            } catch (Throwable t) {
                failure = t;
            } finally {
                ended = System.nanoTime();
            }
        }

        private void ready(SelectionKey key) {
            Connection c = (Connection) key.attachment();
            try {
                if (key.isWritable()) c.flush();
                if (key.isReadable() && c.receive()) {
                    latencies.recordValue(System.nanoTime() - c.sentAt);
                    if (!c.echoedCorrectly()) mismatches++;
                    if (unsent > 0) {
                        unsent--;
                        c.send();
                    } else {
                        outstanding--;
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        void close() {
            for (Connection c : connections) if (c != null) c.close();
            try {
                selector.close();
            } catch (IOException ignored) {
                // nothing left to release
            }
        }
    }

    /** One connection: a message out, the echo in. */
    private static final class Connection {
        private final SocketChannel channel;
        private final SelectionKey key;
        private final ByteBuffer out;
        private final ByteBuffer in;
        private byte round;
        private boolean waitingToWrite;
        long sentAt;

        Connection(InetSocketAddress server, int size, int id, Selector selector) throws IOException {
            channel = SocketChannel.open(server);
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            channel.configureBlocking(false);
            key = channel.register(selector, SelectionKey.OP_READ, this);
            out = ByteBuffer.allocateDirect(size);
            in = ByteBuffer.allocateDirect(size);
            for (int i = 0; i < size; i++) out.put(i, (byte) (id * 31 + i));
        }

        /** Sends the next message; what does not fit now goes when the socket is writable. */
        void send() throws IOException {
            out.put(0, ++round).clear();
            in.clear();
            sentAt = System.nanoTime();
            flush();
        }

        void flush() throws IOException {
            channel.write(out);
            boolean more = out.hasRemaining();
            if (more != waitingToWrite) { // rare: a 32- or 256-byte message fits at once
                waitingToWrite = more;
                key.interestOps(more ? SelectionKey.OP_READ | SelectionKey.OP_WRITE : SelectionKey.OP_READ);
            }
        }

        /** Reads what came; true once the whole message is back. */
        boolean receive() throws IOException {
            if (channel.read(in) < 0) throw new IOException("the server closed connection " + channel);
            return !in.hasRemaining();
        }

        boolean echoedCorrectly() {
            return in.clear().equals(out.clear());
        }

        void close() {
            try {
                channel.close();
            } catch (IOException ignored) {
                // closing a socket we are done with
            }
        }
    }
}
