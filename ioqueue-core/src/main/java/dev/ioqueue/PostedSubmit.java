package dev.ioqueue;

/**
 * {@link IoQueue#submitAnywhere}: a submission posted to the owner thread. On the shared queue the
 * fd is published before the post, so a close of it on any thread, while the submission is on its
 * way, drops the operation instead of letting it start on a dying or reused number (the same
 * rules as {@link FutureWaiter}).
 */
final class PostedSubmit {
    private PostedSubmit() {}

    static void post(IoQueue queue, int fd, IoOperation operation) {
        int requestedAt = SharedQueue.requested(queue, fd);
        boolean posted = queue.runOnOwner(() -> {
            if (SharedQueue.closedBeforeStart(queue, fd, requestedAt)) {
                operation.droppedBeforeStart(fd);
                return;
            }
            try {
                SharedQueue.registerOnce(queue, () -> queue.submit(fd, operation));
            } catch (RuntimeException e) {
                operation.failedBeforeStart(fd, e);
            }
        });
        if (!posted) operation.droppedBeforeStart(fd);
    }
}
