package dev.ioqueue.samples

import dev.ioqueue.Handle
import dev.ioqueue.Sockets
import dev.ioqueue.kotlin.runIoQueue
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import java.io.File
import java.net.InetAddress
import java.util.concurrent.CompletableFuture
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.Job
import kotlinx.coroutines.launch

private fun onPath(tool: String): Boolean =
    System.getenv("PATH").orEmpty().split(File.pathSeparator).any { File(it, tool).canExecute() }

/** A real outside chat client: `nc` or `socat` as a process, its lines collected as they come. */
private class Peer(command: List<String>) : AutoCloseable {
    private val process = ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start()
    private val lines = LinkedBlockingQueue<String>()
    private val stdin = process.outputStream.bufferedWriter()

    init {
        Thread.ofVirtual().start { process.inputStream.bufferedReader().forEachLine { lines.put(it) } }
    }

    fun say(line: String) {
        stdin.write(line + "\n")
        stdin.flush()
    }

    /** The next line the server sent, within 10 s. */
    fun hear(): String? = lines.poll(10, TimeUnit.SECONDS)

    override fun close() {
        runCatching { stdin.close() }
        if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroy()
    }
}

// -N: shut the connection down once stdin ends, as socat does (without it nc stays, and the peer
// waits out its 5 s before destroying it).
private fun nc(port: Int) = Peer(listOf("nc", "-N", "127.0.0.1", port.toString()))
private fun socat(port: Int) = Peer(listOf("socat", "-", "TCP:127.0.0.1:$port"))

/** Two outside clients chat through the server on [port]: names, lines both ways, a leave. */
private fun chat(port: Int, first: (Int) -> Peer, second: (Int) -> Peer) {
    first(port).use { alice ->
        alice.say("alice")
        alice.hear() shouldBe "* welcome, alice"
        second(port).use { bob ->
            bob.say("bob")
            bob.hear() shouldBe "* welcome, bob"
            alice.hear() shouldBe "* bob joined"
            alice.say("hello, bob é")
            bob.hear() shouldBe "alice: hello, bob é"
            bob.say("hi alice")
            alice.hear() shouldBe "bob: hi alice"
            bob.say("/quit")
            alice.hear() shouldBe "* bob left"
        }
    }
}

class LineChatSpec : FunSpec({
    val tools = { onPath("nc") && onPath("socat") }

    test("the Java chat server (virtual threads, BufferedReader) serves nc and socat").config(enabledIf = { tools() }) {
        LineChatServer.start(InetAddress.getLoopbackAddress(), 0).use { server ->
            chat(server.port(), ::nc, ::socat)
        }
    }

    test("the Kotlin chat server (readLine on a loop) serves socat and nc").config(enabledIf = { tools() }) {
        val fd = Sockets.listenTcp(InetAddress.getLoopbackAddress(), 0, 16)
        val port = Sockets.localPort(fd)
        val job = CompletableFuture<Job>()
        val loop = Thread.ofPlatform().name("chat-loop").start {
            runCatching { runIoQueue { job.complete(launch { lineChat(Handle.of(fd)) }) } }
        }
        val server = job.get(10, TimeUnit.SECONDS)
        try {
            chat(port, ::socat, ::nc)
        } finally {
            server.cancel()
            loop.join(10_000)
        }
        loop.isAlive shouldBe false
    }
})
