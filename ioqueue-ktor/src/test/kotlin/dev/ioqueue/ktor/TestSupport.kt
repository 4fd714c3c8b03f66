package dev.ioqueue.ktor

import dev.ioqueue.BlockingIo
import dev.ioqueue.Fds
import dev.ioqueue.Handle
import dev.ioqueue.IoQueue
import dev.ioqueue.Sockets
import dev.ioqueue.kotlin.runIoQueue
import java.net.InetAddress
import java.net.InetSocketAddress
import java.net.Socket
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.CompletableFuture
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.ExecutionException
import java.util.concurrent.TimeUnit
import java.util.concurrent.TimeoutException
import kotlinx.coroutines.CoroutineScope

val loopback: InetAddress = InetAddress.getLoopbackAddress()

/** The backends the loops of [onLoop] ran on, to tell which run of the suite this is. */
val loopBackends: MutableSet<String> = ConcurrentHashMap.newKeySet()

/** Runs [block] in [runIoQueue] on a new platform thread: a coroutine on that thread's loop. */
fun <T> onLoop(block: suspend CoroutineScope.() -> T): T {
    val result = CompletableFuture<T>()
    val loop = Thread.ofPlatform().name("ktor-loop").start {
        val outcome = runCatching {
            loopBackends += IoQueue.current().backend().name
            runIoQueue(block = block)
        }
        // As a loop's thread should end: a handle closed in the last round on io_uring is released by the close.
        val closed = runCatching { IoQueue.current().close() }
        outcome.onSuccess { closed.onSuccess { _ -> result.complete(it) }.onFailure { e -> result.completeExceptionally(e) } }
            .onFailure { result.completeExceptionally(it) }
    }
    return try {
        result.get(60, TimeUnit.SECONDS)
    } catch (e: ExecutionException) {
        throw e.cause!!
    } catch (e: TimeoutException) {
        throw AssertionError("the loop's coroutine did not end in 60 s; the loop is at\n" + loop.stackTrace.joinToString("\n") { "\tat $it" }, e)
    }
}

/**
 * A connected TCP pair on the loopback: an unbound [Handle] (ours, bound by its first I/O) and the
 * peer, a JDK [Socket] with a 30 s read timeout (a test that stops being served fails, not hangs).
 * A [peerReceiveBuffer] is set before the connection (the window it offers follows it).
 */
fun tcpPair(peerReceiveBuffer: Int? = null): Pair<Handle, Socket> {
    val listener = Sockets.listenTcp(loopback, 0, 1)
    try {
        val peer = Socket()
        peerReceiveBuffer?.let { peer.receiveBufferSize = it }
        peer.connect(InetSocketAddress(loopback, Sockets.localPort(listener)))
        peer.soTimeout = 30_000
        return Handle.of(BlockingIo.accept(listener)) to peer
    } finally {
        Fds.close(listener)
    }
}

/** The inode of the socket [fd] is (`socket:[inode]` in /proc/self/fd), or null if [fd] is not an open socket. */
fun socketInode(fd: Int): String? =
    runCatching { Files.readSymbolicLink(Path.of("/proc/self/fd/$fd")).toString() }.getOrNull()?.takeIf { it.startsWith("socket:[") }

/** Every socket this process has open, by inode, from /proc/self/fd. */
fun openSocketInodes(): Set<String> = Files.list(Path.of("/proc/self/fd")).use { fds ->
    fds.toList().mapNotNull { runCatching { Files.readSymbolicLink(it).toString() }.getOrNull() }.filter { it.startsWith("socket:[") }.toSet()
}

/**
 * This process's open fds as "number -> what it is" (a socket's inode included): compared as sets,
 * fds other threads close meanwhile (a Cleaner releasing a dead thread's queue) cannot disturb a
 * check, as a count can.
 */
fun openFds(): Set<String> = // File.list() closes the directory before the links are read: its own fd is not among them
    java.io.File("/proc/self/fd").list()!!.mapNotNull { n -> runCatching { "$n -> ${Files.readSymbolicLink(Path.of("/proc/self/fd/$n"))}" }.getOrNull() }.toSet()

/**
 * Opens eventfds until one gets the number [fd] (the kernel hands out the lowest free number, so
 * the holes below it fill first) and closes the others: a file that is not a socket now holds
 * [fd]'s number. Returns that eventfd; fails if [fd] is in use.
 */
fun occupyNumber(fd: Int): Int {
    check(socketInode(fd) == null && runCatching { Files.readSymbolicLink(Path.of("/proc/self/fd/$fd")) }.isFailure) { "fd $fd is in use" }
    val fillers = ArrayList<Int>()
    try {
        while (true) {
            val next = Fds.eventfd(0)
            if (next == fd) return next
            fillers += next
            check(fillers.size < 1000) { "fd $fd never came free" }
        }
    } finally {
        fillers.forEach(Fds::close)
    }
}

/** Waits up to 10 s for [condition]; whether it came true. */
fun eventually(condition: () -> Boolean): Boolean {
    val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10)
    while (!condition()) {
        if (System.nanoTime() > deadline) return false
        Thread.sleep(5)
    }
    return true
}

/**
 * Numbered steps, as kotlinx.coroutines' tests order theirs: [expect] fails on a step out of
 * order, [finish] on a missing one. Thread-safe.
 */
class Steps {
    private var last = 0

    @Synchronized
    fun expect(step: Int) {
        check(step == last + 1) { "step $step came after step $last" }
        last = step
    }

    @Synchronized
    fun finish(step: Int) {
        expect(step)
    }
}
