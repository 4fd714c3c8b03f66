package dev.ioqueue;

import dev.ioqueue.internal.os.Faults;
import org.junit.jupiter.api.AfterEach;

/** Each test leaves its thread without a queue and the fault seam disarmed. */
abstract class QueueTestSupport {
    @AfterEach
    void closeThreadQueue() {
        Faults.clear();
        IoQueue q = IoQueue.currentIfAny();
        if (q != null) q.close();
    }
}
