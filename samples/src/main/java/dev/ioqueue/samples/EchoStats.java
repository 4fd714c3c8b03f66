package dev.ioqueue.samples;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * What the echo server did, per connection: which kind of handler served it, on which thread,
 * how many bytes it echoed and how it ended. Written on the server's loop thread, read anywhere.
 */
public final class EchoStats {
    /** The two ways one queue serves a connection. */
    public enum Kind { KOTLIN_COROUTINE, JAVA_CALLBACK }

    /** One accepted connection. */
    public static final class Connection {
        public final int id;
        public final Kind kind;
        long bytes;
        String end = "open";

        Connection(int id, Kind kind) {
            this.id = id;
            this.kind = kind;
        }

        public synchronized long bytes() {
            return bytes;
        }

        public synchronized String end() {
            return end;
        }
    }

    private final List<Connection> connections = new ArrayList<>();
    // Threads themselves, not names: kotlinx's debug mode renames a thread while a coroutine runs.
    private final Set<Thread> threads = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    private int acceptFailures;

    /** Records a new connection, served on the calling thread. */
    public synchronized Connection opened(int id, Kind kind) {
        Connection c = new Connection(id, kind);
        connections.add(c);
        threads.add(Thread.currentThread());
        return c;
    }

    public synchronized void echoed(Connection c, int bytes) {
        synchronized (c) {
            c.bytes += bytes;
        }
        threads.add(Thread.currentThread());
    }

    public synchronized void closed(Connection c, String how) {
        synchronized (c) {
            c.end = how;
        }
    }

    public synchronized void acceptFailed() {
        acceptFailures++;
    }

    public synchronized List<Connection> connections() {
        return List.copyOf(connections);
    }

    /** Names of the threads that ran any handler. */
    public synchronized Set<String> threads() {
        Set<String> names = new TreeSet<>();
        for (Thread t : threads) names.add(t.getName().replaceFirst(" @coroutine#\\d+$", ""));
        return names;
    }

    /** How many distinct threads ran any handler. */
    public synchronized int threadCount() {
        return threads.size();
    }

    public synchronized int acceptFailures() {
        return acceptFailures;
    }

    public synchronized long openConnections() {
        return connections.stream().filter(c -> c.end().equals("open")).count();
    }
}
