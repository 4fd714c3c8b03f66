package dev.ioqueue.internal.core;

import java.util.Arrays;

/**
 * A growable list of ints taken whole: one step adds, the next takes them all. Owner thread;
 * allocation-free once grown.
 */
final class IntList {
    private int[] values = new int[8];
    private int count;

    void add(int value) {
        if (count == values.length) values = Arrays.copyOf(values, count * 2);
        values[count++] = value;
    }

    boolean isEmpty() {
        return count == 0;
    }

    /** Empties the list; returns how many it held, readable through {@link #get} until the next {@link #add}. */
    int take() {
        int n = count;
        count = 0;
        return n;
    }

    int get(int i) {
        return values[i];
    }
}
