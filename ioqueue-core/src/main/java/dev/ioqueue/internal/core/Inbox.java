package dev.ioqueue.internal.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Tasks posted to a queue from other threads: a multi-producer, single-consumer linked queue
 * (Dmitry Vyukov's intrusive MPSC design). A producer swaps itself in as the tail with one atomic
 * exchange and then links its predecessor; the owner thread alone polls.
 */
public final class Inbox {
    private static final VarHandle TAIL;
    private static final VarHandle NEXT;

    static {
        try {
            TAIL = MethodHandles.lookup().findVarHandle(Inbox.class, "tail", Node.class);
            NEXT = MethodHandles.lookup().findVarHandle(Node.class, "next", Node.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    static final class Node {
        Runnable task;
        @SuppressWarnings("unused") // through NEXT
        volatile Node next;

        Node(Runnable task) {
            this.task = task;
        }
    }

    private Node head; // consumer only: the last node taken (a stub)
    @SuppressWarnings("FieldMayBeFinal") // through TAIL
    private volatile Node tail;

    public Inbox() {
        Node stub = new Node(null);
        head = stub;
        tail = stub;
    }

    /** Any thread. */
    public void offer(Runnable task) {
        Node node = new Node(task);
        Node previous = (Node) TAIL.getAndSet(this, node);
        NEXT.setRelease(previous, node);
    }

    /**
     * Owner thread. The oldest task, or null when none is linked yet. A producer between its
     * exchange and its link makes this return null while {@link #isEmpty()} is false.
     */
    public Runnable poll() {
        Node next = (Node) NEXT.getAcquire(head);
        if (next == null) return null;
        head = next;
        Runnable task = next.task;
        next.task = null;
        return task;
    }

    /**
     * Owner thread. The newest task offered so far, as a mark for {@link #pollUpTo}: tasks offered
     * after this call are not reached through it.
     */
    public Object mark() {
        return tail;
    }

    /**
     * Owner thread. Like {@link #poll()}, but null once the task at {@code mark} was taken, so a
     * consumer draining while producers keep offering ends.
     */
    public Runnable pollUpTo(Object mark) {
        return head == mark ? null : poll();
    }

    /** Owner thread. Counts a task whose producer has not linked it yet as present. */
    public boolean isEmpty() {
        return tail == head;
    }
}
