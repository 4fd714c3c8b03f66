package dev.ioqueue.internal.uring;

/**
 * One operation pending on a {@link RingStream}: its buffer, and how the engine ends it. The
 * engine calls exactly one of the endings, once, on the owner thread, with its own state already
 * consistent (so the ending may start another operation on the same stream).
 */
public interface RingOp {
    /** The buffer the ring moves bytes for. */
    RingTransfer transfer();

    /** Done: a read that moved nothing completes with end-of-file when {@code endOfFile}. */
    void ringCompleted(boolean endOfFile);

    /** The kernel failed the request with {@code errno}. */
    void ringFailed(int errno);

    /** Its buffer can no longer be used (its arena closed, or it is confined to another thread, while it waited): it fails. */
    void ringAborted(RuntimeException failure);

    /** The ring cannot read this fd (it took nothing): start again on the readiness path. */
    void ringRetryByReadiness();

    /** Withdrawn by the stream's close or the queue's: told {@code dropped}. */
    void ringDropped();
}
