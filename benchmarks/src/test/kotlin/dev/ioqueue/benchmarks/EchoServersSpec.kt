package dev.ioqueue.benchmarks

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import java.io.DataInputStream
import java.net.InetAddress
import java.net.Socket
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.CompletableFuture
import java.util.concurrent.TimeUnit
import kotlin.random.Random

// The benchmark's ioqueue echo servers own their fds (issue 18): what they accept is a Handle
// bound to the loop (or, for virtual threads, kept by the server), so a reset peer's connection is
// closed when it fails, and close() leaves no socket of theirs open. Speed is ./bench's business.

private val loopback: InetAddress = InetAddress.getLoopbackAddress()

/** A server under test: its port, how many listening sockets it has, how to stop it. */
private class Server(val port: Int, val listeners: Int, val close: () -> Unit)

private val SERVERS: List<Pair<String, () -> Server>> = listOf(
    "Java IoOperations on 1 loop" to { JavaCallbackEcho(1, false).let { Server(it.port(), 1, it::close) } },
    "Java IoOperations on 2 loops, one acceptor" to { JavaCallbackEcho(2, false).let { Server(it.port(), 1, it::close) } },
    "Java IoOperations on 2 loops, SO_REUSEPORT" to { JavaCallbackEcho(2, true).let { Server(it.port(), 2, it::close) } },
    "Kotlin coroutines on 1 loop" to { KotlinCoroutineEcho(1, false).let { Server(it.port, 1, it::close) } },
    "Kotlin coroutines on 2 loops, one acceptor" to { KotlinCoroutineEcho(2, false).let { Server(it.port, 1, it::close) } },
    "Kotlin coroutines on 2 loops, SO_REUSEPORT" to { KotlinCoroutineEcho(2, true).let { Server(it.port, 2, it::close) } },
    "ktor's echo on ioqueue-ktor's HandleSocket, 1 loop" to { KtorAdapterEcho(1).let { Server(it.port, 1, it::close) } },
    "virtual threads on BlockingIo" to { VirtualThreadEcho.OnBlockingIo().let { Server(it.port(), 1, it::close) } },
)

/**
 * The process's open IP sockets: /proc/self/fd entries linking to a socket that /proc/net/unix and
 * /proc/net/netlink do not list (the JDK keeps a Unix socket of its own from its first network
 * call). A reset connection's socket counts until its fd is closed.
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

/** Runs [task] on a thread of its own: blocking clients must not wait for each other in a small shared pool. */
private fun newThread(task: Runnable) {
    Thread(task).start()
}

/** [size] random bytes out on [socket], the same back. */
private fun roundTrip(socket: Socket, size: Int): Boolean {
    socket.soTimeout = 30_000 // a server that stopped serving fails the test instead of hanging it
    val data = Random.nextBytes(size)
    val writer = CompletableFuture.runAsync({ socket.getOutputStream().write(data) }, ::newThread) // more than the socket buffers hold
    val back = ByteArray(size)
    DataInputStream(socket.getInputStream()).readFully(back)
    writer.get(30, TimeUnit.SECONDS)
    return back.contentEquals(data)
}

/** Connects, sends 4 KiB, reads nothing, closes with SO_LINGER 0: the server's read or echo of it fails. */
private fun resettingPeer(port: Int) = Socket(loopback, port).use { s ->
    s.setSoLinger(true, 0)
    s.getOutputStream().write(ByteArray(4096))
}

class EchoServersSpec : FunSpec({
    for ((name, start) in SERVERS) {
        test("$name: every byte comes back, a reset peer's connection is closed, and close() leaves none of its sockets open") {
            val before = openIpSockets()
            val server = start()
            var closed = false
            val idle = ArrayList<Socket>()
            try {
                // 1. Eight clients at once each get 256 KiB back.
                val clients = (0 until 8).map { CompletableFuture.supplyAsync({ Socket(loopback, server.port).use { roundTrip(it, 256 * 1024) } }, ::newThread) }
                clients.all { it.get(60, TimeUnit.SECONDS) } shouldBe true

                // 2. A hundred peers reset their connections; the server closes each (its listeners stay), and still serves.
                repeat(100) { resettingPeer(server.port) }
                Socket(loopback, server.port).use { roundTrip(it, 1000) shouldBe true }
                waitUntil({ "the reset connections closed: ${openIpSockets() - before - server.listeners} open" }) {
                    openIpSockets() == before + server.listeners
                }

                // 3. Ten idle clients stay connected while the server closes: its close closes their connections too.
                repeat(10) { idle += Socket(loopback, server.port).also { s -> roundTrip(s, 1) shouldBe true } }
                closed = true
                server.close()
                openIpSockets() shouldBe before + idle.size
                idle.forEach { it.soTimeout = 10_000; it.getInputStream().read() shouldBe -1; it.close() }
                openIpSockets() shouldBe before
            } catch (failure: Throwable) {
                if (!closed) runCatching { server.close() }.exceptionOrNull()?.let(failure::addSuppressed) // the failure stays the news
                idle.forEach { it.close() } // the next server's count starts clean
                throw failure
            }
        }
    }
})
