package dev.ioqueue;

import dev.ioqueue.internal.PublishedFds;

/**
 * {@link IoQueue#submitAnywhere}: a submission posted to the owner thread. On the shared queue the
 * fd is published before the post, so a close of it on any thread, while the submission is on its
 * way, drops the operation instead of letting it start on a dying or reused number (the same
 * rules as {@link FutureWaiter}).
 */
final class PostedSubmit {
    private PostedSubmit() {}

    static void post(IoQueue queue, int fd, IoOperation operation) {
        boolean shared = SharedQueue.isShared(queue);
        long requestedAt = shared ? SharedQueue.closes() : 0;
        if (shared) PublishedFds.add(fd);
        boolean posted = queue.runOnOwner(() -> {
            if (SharedQueue.closedBeforeStart(queue, fd, requestedAt)) {
                operation.droppedBeforeStart(fd);
                return;
            }
            try {
                try {
                    queue.submit(fd, operation);
                } catch (PrematureCloseError stale) {
                    if (!shared) throw stale;
                    // An earlier waiter's fd of this number was closed behind the shared queue's
                    // back and the number came back: that waiter was told; this one is for the new file.
                    queue.submit(fd, operation);
                }
            } catch (RuntimeException e) {
                operation.failedBeforeStart(fd, e);
            }
        });
        if (!posted) operation.droppedBeforeStart(fd);
    }
}
