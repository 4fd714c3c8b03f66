package dev.ioqueue.samples

import dev.ioqueue.IoQueue
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.string.shouldStartWith
import java.io.DataInputStream
import java.io.File
import java.net.InetAddress
import java.net.Socket
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.CompletableFuture
import java.util.concurrent.TimeUnit
import kotlin.random.Random

private fun openFds(): Long = Files.list(Path.of("/proc/self/fd")).use { it.count() }

private fun onPath(tool: String): Boolean =
    System.getenv("PATH").split(File.pathSeparator).any { File(it, tool).canExecute() }

/** Runs [command] with [input] on its stdin; returns its stdout. */
private fun runPeer(command: List<String>, input: ByteArray): ByteArray {
    val process = ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start()
    val output = CompletableFuture.supplyAsync { process.inputStream.readAllBytes() }
    process.outputStream.use { it.write(input) }
    val bytes = output.get(30, TimeUnit.SECONDS)
    process.waitFor(30, TimeUnit.SECONDS) shouldBe true
    return bytes
}

/** Sends [data], half-closes, reads until EOF. */
private fun echoWithHalfClose(port: Int, data: ByteArray): ByteArray =
    Socket(InetAddress.getLoopbackAddress(), port).use { s ->
        val reader = CompletableFuture.supplyAsync { s.getInputStream().readAllBytes() }
        s.getOutputStream().write(data)
        s.shutdownOutput()
        reader.get(30, TimeUnit.SECONDS)
    }

private fun roundTrip(port: Int, size: Int): Boolean = Socket(InetAddress.getLoopbackAddress(), port).use { s ->
    val data = Random.nextBytes(size)
    s.getOutputStream().write(data)
    val back = ByteArray(size)
    DataInputStream(s.getInputStream()).readFully(back)
    back.contentEquals(data)
}

class EchoServerSpec : FunSpec({
    test("the demo: every byte comes back, and both handler kinds run on one thread") {
        val r = runDemo(clients = 8, seconds = 1.0, print = false)
        r.mismatches shouldBe 0L
        (r.roundTrips > 0) shouldBe true
        r.stats.threadCount() shouldBe 1
        r.stats.threads() shouldBe setOf("echo-loop")
        r.stats.connections().map { it.kind }.toSet() shouldBe EchoStats.Kind.entries.toSet()
    }

    test("the demo's report names the backend its loop ran on, as IoQueue.backend() reports it") {
        val expected = onLoopThread { IoQueue.current().backend().name.lowercase() } // made as the server's loop makes its queue
        val report = printed { runDemo(clients = 2, seconds = 0.3) }.lines()
        report[0] shouldStartWith "ioqueue mixed echo demo: 2 TCP clients"
        report[1] shouldBe "  backend       $expected"
        report.last() shouldBe "OK"
    }

    // Each outside client is its own test, skipped (not replaced) where the tool is missing.
    test("socat, as a real outside client, gets its bytes back").config(enabledIf = { onPath("socat") }) {
        EchoServerThread().use { server ->
            val data = Random.nextBytes(256 * 1024)
            runPeer(listOf("socat", "-t", "5", "-", "TCP:127.0.0.1:${server.port}"), data).contentEquals(data) shouldBe true
            server.awaitAllClosed()
        }
    }

    test("nc, as a real outside client, gets its bytes back").config(enabledIf = { onPath("nc") }) {
        EchoServerThread().use { server ->
            val data = Random.nextBytes(256 * 1024)
            runPeer(listOf("nc", "-N", "127.0.0.1", server.port.toString()), data).contentEquals(data) shouldBe true
            server.awaitAllClosed()
        }
    }

    test("a Java socket client that half-closes gets its bytes back") {
        EchoServerThread().use { server ->
            val data = Random.nextBytes(256 * 1024)
            echoWithHalfClose(server.port, data).contentEquals(data) shouldBe true
            server.awaitAllClosed()
        }
    }

    test("300 concurrent connections are all served") {
        EchoServerThread().use { server ->
            val clients = (0 until 300).map { CompletableFuture.supplyAsync({ roundTrip(server.port, 4096) }, { r -> Thread(r).start() }) }
            clients.map { it.get(60, TimeUnit.SECONDS) }.all { it } shouldBe true
            server.awaitAllClosed()
            server.stats.connections().size shouldBe 300
        }
    }

    test("bad clients never stop the server or leak an fd") {
        val before = openFds()
        EchoServerThread().use { server ->
            val idle = (0 until 100).map { Socket(InetAddress.getLoopbackAddress(), server.port) }
            // A 1 MiB line, then a half-close: all of it comes back, then EOF.
            val line = ByteArray(1 shl 20) { 'x'.code.toByte() }.also { it[it.size - 1] = '\n'.code.toByte() }
            echoWithHalfClose(server.port, line).contentEquals(line) shouldBe true
            // Reset mid-write: send a lot, never read, close with an RST.
            repeat(10) {
                Socket(InetAddress.getLoopbackAddress(), server.port).use { s ->
                    s.setSoLinger(true, 0)
                    s.getOutputStream().write(ByteArray(512 * 1024))
                }
            }
            // Meanwhile, with 100 idle connections open, a normal client is served.
            roundTrip(server.port, 10_000) shouldBe true
            idle.forEach { it.close() }
            server.awaitAllClosed()
            val ends = server.stats.connections().map { it.end() }.toSet()
            ends.all { it == "eof" || it == "ECONNRESET" || it == "EPIPE" } shouldBe true
            roundTrip(server.port, 100) shouldBe true // still serving
            server.awaitAllClosed()
        }
        openFds() shouldBe before
    }
})
