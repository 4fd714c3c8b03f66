package dev.ioqueue;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * The records the library logs while it is open: a {@code java.util.logging} handler on the logger
 * {@code dev.ioqueue} (the JDK routes {@code System.Logger} there when no other backend is
 * installed), with every level let through (DEBUG is JUL's FINE). Thread-safe: the watchdog logs
 * from its own thread.
 */
final class LogCapture extends Handler implements AutoCloseable {
    private final Logger logger = Logger.getLogger("dev.ioqueue"); // held: JUL keeps loggers weakly
    private final Level savedLevel = logger.getLevel();
    private final boolean savedParents = logger.getUseParentHandlers();
    private final List<LogRecord> records = new ArrayList<>();

    LogCapture() {
        logger.setLevel(Level.ALL);
        logger.setUseParentHandlers(false);
        logger.addHandler(this);
    }

    @Override
    public synchronized void publish(LogRecord record) {
        records.add(record);
        notifyAll();
    }

    /** The records so far that {@code match}. */
    synchronized List<LogRecord> matching(Predicate<LogRecord> match) {
        return records.stream().filter(match).toList();
    }

    /** Waits up to 10 seconds for a record that {@code match}es; null if none came. */
    synchronized LogRecord await(Predicate<LogRecord> match) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (true) {
            for (LogRecord r : records) if (match.test(r)) return r;
            long left = deadline - System.nanoTime();
            if (left <= 0) return null;
            wait(Math.max(1, left / 1_000_000));
        }
    }

    @Override
    public void flush() {}

    @Override
    public void close() {
        logger.removeHandler(this);
        logger.setUseParentHandlers(savedParents);
        logger.setLevel(savedLevel);
    }
}
