package dev.ioqueue.samples

import dev.ioqueue.Errno
import dev.ioqueue.Handle
import dev.ioqueue.IoQueue
import dev.ioqueue.IoQueueGroup
import dev.ioqueue.Sockets
import dev.ioqueue.SyscallFailure
import dev.ioqueue.SyscallSocketException
import io.kotest.assertions.withClue
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldBeEmpty
import io.kotest.matchers.shouldBe
import java.io.DataInputStream
import java.io.IOException
import java.net.InetAddress
import java.net.Socket
import java.nio.file.Files
import java.nio.file.Path
import java.time.Duration
import java.util.concurrent.CompletableFuture
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.TimeUnit
import kotlin.random.Random

// Issue 18: the README's lambda style stopped a whole server at the first peer reset ("run() threw
// ... ECONNRESET") and leaked the connection's fd; group.shutdown() left accepted connections open.

private val loopback: InetAddress = InetAddress.getLoopbackAddress()

/**
 * The process's open IP sockets: /proc/self/fd entries linking to a socket that /proc/net/unix and
 * /proc/net/netlink do not list (the server's listener and connections, and this test's clients;
 * not the Unix socket the JDK makes on its first network call and keeps). A reset connection's
 * socket counts until its fd is closed, though /proc/net/tcp no longer lists it.
 */
private fun openIpSockets(): Int {
    fun inodes(table: String, column: Int) = Files.readAllLines(Path.of(table)).drop(1).map { it.trim().split(Regex("\\s+"))[column] }
    val other = (inodes("/proc/net/unix", 6) + inodes("/proc/net/netlink", 9)).toSet()
    return Files.list(Path.of("/proc/self/fd")).use { fds ->
        fds.filter { fd ->
            val link = runCatching { Files.readSymbolicLink(fd).toString() }.getOrDefault("") // an fd closed meanwhile is gone
            link.startsWith("socket:[") && link.removePrefix("socket:[").removeSuffix("]") !in other
        }.count().toInt()
    }
}

/** Waits (30 s at most, then fails saying [what]) until [done]. */
private fun waitUntil(what: () -> String, done: () -> Boolean) {
    val deadline = System.nanoTime() + 30_000_000_000L
    while (!done()) {
        check(System.nanoTime() < deadline) { "timed out waiting for ${what()}" }
        Thread.sleep(5)
    }
}

/** A client that connects, sends 4 KiB, reads nothing and closes with SO_LINGER 0: the server's next read or write on it fails with ECONNRESET or EPIPE. */
private fun resettingPeer(port: Int) = Socket(loopback, port).use { s ->
    s.setSoLinger(true, 0)
    s.getOutputStream().write(ByteArray(4096))
}

/** A well-behaved client: [size] random bytes out, the same back. */
private fun roundTrip(socket: Socket, size: Int): Boolean {
    socket.soTimeout = 30_000 // a server that stopped serving fails the test instead of hanging it
    val data = Random.nextBytes(size)
    val writer = CompletableFuture.runAsync({ socket.getOutputStream().write(data) }, { Thread(it).start() }) // more than the socket buffers hold
    val back = ByteArray(size)
    DataInputStream(socket.getInputStream()).readFully(back)
    writer.get(30, TimeUnit.SECONDS)
    return back.contentEquals(data)
}

/** The README server's listener on 127.0.0.1, bound to the calling thread's queue, serving from its next round; its port. */
private fun startReadmeServer(queue: IoQueue): Int {
    val listener = Handle.of(Sockets.listenTcp(loopback, 0, 1024), queue)
    ReadmeEchoServer.serve(listener)
    return Sockets.localPort(listener.fd())
}

/**
 * What the queue's failure handler heard: one failure per reset connection (the server's read or
 * echo of it failed), each a peer gone: ECONNRESET, or EPIPE for a write after the reset (io_uring's
 * ring write reports that), as a SyscallSocketException.
 */
private fun checkPeerResets(failures: Collection<IOException>, resets: Int) {
    failures.filterNot { it is SyscallSocketException && SyscallFailure.of(it)!!.errno() in setOf(Errno.ECONNRESET, Errno.EPIPE) }.shouldBeEmpty()
    withClue("failures by errno: ${failures.groupingBy { SyscallFailure.of(it)!!.errno() }.eachCount()}") { failures.size shouldBe resets }
}

class ReadmeEchoServerSpec : FunSpec({
    test("a README-style echo server on a group's loop survives 1,000 peer resets, serves a good client after them, and group.shutdown() leaves no connection fd open") {
        val before = openIpSockets()
        val uncaught = ConcurrentLinkedQueue<Throwable>()
        val failures = ConcurrentLinkedQueue<IOException>()
        val group = IoQueueGroup.start(1, { r -> Thread(r, "readme-echo") }) { _, t -> uncaught += t }
        group.onFailure { _, failure -> failures += failure } // what the default would log; the handle is closed either way
        val queue = group.next()
        val port = CompletableFuture.supplyAsync({ startReadmeServer(queue) }, queue).get(30, TimeUnit.SECONDS)

        // 1. A thousand peers reset their connections; the server hears each reset and closes the connection.
        repeat(1000) { resettingPeer(port) }
        waitUntil({ "1,000 failures and the connections closed: ${failures.size} failures, ${openIpSockets() - before - 1} open; the loop threw ${uncaught.size} times, first: ${uncaught.firstOrNull()}" }) {
            failures.size >= 1000 && openIpSockets() == before + 1 // the listener
        }
        uncaught.shouldBeEmpty()
        checkPeerResets(failures, 1000)

        // 2. The loop still serves: a well-behaved client gets its 256 KiB back; 20 idle ones stay connected.
        Socket(loopback, port).use { roundTrip(it, 256 * 1024) shouldBe true }
        val idle = (0 until 20).map { Socket(loopback, port).also { s -> roundTrip(s, 1) shouldBe true } }

        // 3. The shutdown closes the listener and every connection: what stays open is this test's 20 clients, which see end-of-file.
        group.shutdown(Duration.ofSeconds(30)) shouldBe true
        openIpSockets() shouldBe before + idle.size
        idle.forEach { it.soTimeout = 10_000; it.getInputStream().read() shouldBe -1; it.close() }
        openIpSockets() shouldBe before
        uncaught.shouldBeEmpty()
    }

    test("run() of a README-style echo server goes on through 1,000 peer resets until stop(), and the queue's close leaves no connection fd open") {
        val before = openIpSockets()
        val failures = ConcurrentLinkedQueue<IOException>()
        val port = CompletableFuture<Int>()
        val ran = CompletableFuture<Throwable?>() // what run() threw; completed once the queue is closed
        lateinit var queue: IoQueue
        Thread({
            queue = IoQueue.current()
            var threw: Throwable? = null
            try {
                queue.onFailure { _, failure -> failures += failure }
                port.complete(startReadmeServer(queue))
                queue.run()
            } catch (t: Throwable) {
                threw = t
                port.completeExceptionally(t)
            } finally {
                queue.close()
                ran.complete(threw)
            }
        }, "readme-echo").start()
        val serving = port.get(30, TimeUnit.SECONDS)

        // 1. A thousand peers reset their connections; run() neither returns nor throws, and every reset connection is closed.
        repeat(1000) { resettingPeer(serving) }
        waitUntil({ "1,000 failures and the connections closed: ${failures.size} failures, ${openIpSockets() - before - 1} open; run() ended with ${ran.getNow(null)}" }) {
            ran.isDone || (failures.size >= 1000 && openIpSockets() == before + 1)
        }
        withClue("run() ended with ${ran.getNow(null)}") { ran.isDone shouldBe false }
        checkPeerResets(failures, 1000)

        // 2. A well-behaved client is served, and one stays connected.
        Socket(loopback, serving).use { roundTrip(it, 256 * 1024) shouldBe true }
        val idle = Socket(loopback, serving).also { roundTrip(it, 1) shouldBe true }

        // 3. stop() from this thread: run() returns normally, the queue's close closes the listener and the connection.
        queue.stop()
        ran.get(30, TimeUnit.SECONDS) shouldBe null
        openIpSockets() shouldBe before + 1 // the idle client's own socket
        idle.soTimeout = 10_000
        idle.getInputStream().read() shouldBe -1
        idle.close()
        openIpSockets() shouldBe before
    }
})
