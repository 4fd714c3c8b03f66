package dev.ioqueue.samples

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

private fun openFds(): Long = Files.list(Path.of("/proc/self/fd")).use { it.count() }

/** The demo's run on 2 loops: every byte back, both loops served, both kinds of handler ran. */
private fun demoOnTwoLoops(strategy: LoopStrategy, clients: Int) {
    val r = runDemo(clients = clients, seconds = 1.0, print = false, loops = 2, strategy = strategy)
    r.mismatches shouldBe 0L
    (r.roundTrips > 0) shouldBe true
    r.stats.connections().sumOf { it.bytes() } shouldBe r.bytes // the server echoed exactly what the clients got back
    r.stats.connections().map { it.end() }.toSet() shouldBe setOf("eof")
    r.stats.threads() shouldBe setOf("echo-loop-0", "echo-loop-1")
    r.stats.connections().map { it.kind }.toSet() shouldBe EchoStats.Kind.entries.toSet()
    r.ok shouldBe true
}

/** Waits (30 s at most, then fails saying [what]) until [done]: a lost wake-up fails the test instead of hanging the build. */
private fun waitUntil(what: () -> String, done: () -> Boolean) {
    val deadline = System.nanoTime() + 30_000_000_000L
    while (!done()) {
        check(System.nanoTime() < deadline) { "timed out waiting for ${what()}" }
        Thread.sleep(5)
    }
}

private fun roundTrip(port: Int, size: Int): Boolean = Socket(InetAddress.getLoopbackAddress(), port).use { s ->
    val data = Random.nextBytes(size)
    s.getOutputStream().write(data)
    val back = ByteArray(size)
    DataInputStream(s.getInputStream()).readFully(back)
    back.contentEquals(data)
}

class EchoLoopsSpec : FunSpec({
    test("on 2 loops with one acceptor, both loop threads serve connections and every byte comes back") {
        demoOnTwoLoops(LoopStrategy.ACCEPTOR, clients = 8) // round-robin: 4 connections each
    }

    test("on 2 loops with SO_REUSEPORT listeners, both loop threads serve connections and every byte comes back") {
        // The kernel picks a listener by a hash of the client's port: all 32 on one loop has odds of 2^-31.
        demoOnTwoLoops(LoopStrategy.REUSEPORT, clients = 32)
    }

    test("the acceptor hands connections round-robin: each of 3 loops serves every third one") {
        EchoServerThread(loops = 3, strategy = LoopStrategy.ACCEPTOR).use { server ->
            server.threadNames shouldBe listOf("echo-loop-0", "echo-loop-1", "echo-loop-2")
            repeat(3) { roundTrip(server.port, 1000) shouldBe true } // one at a time: in accept order
            server.awaitAllClosed()
            server.stats.threads() shouldBe setOf("echo-loop-0", "echo-loop-1", "echo-loop-2")
        }
    }

    test("stopping a server of 2 loops, either way, closes every connection and listener") {
        val before = openFds()
        for (strategy in LoopStrategy.entries) {
            val server = EchoServerThread(loops = 2, strategy = strategy)
            val idle = (0 until 20).map { Socket(InetAddress.getLoopbackAddress(), server.port) }
            val busy = (0 until 20).map { CompletableFuture.supplyAsync { roundTrip(server.port, 64 * 1024) } }
            busy.all { it.get(30, TimeUnit.SECONDS) } shouldBe true
            waitUntil({ "20 connections ended by eof; ends: ${server.stats.connections().map { it.end() }}" }) { server.stats.connections().count { it.end() == "eof" } >= 20 }
            waitUntil({ "40 connections accepted; ${server.stats.connections().size} were" }) { server.stats.connections().size >= 40 } // the idle ones too
            server.stop()
            server.stats.connections().count { it.end() == "server stopped" } shouldBe 20
            idle.forEach { it.soTimeout = 10_000; it.getInputStream().read() shouldBe -1; it.close() }
        }
        openFds() shouldBe before
    }

    test("--loops N takes a count of 1 or more, with --reuseport or --acceptor, and --reuseport only over TCP") {
        parseDemoArgs(listOf()) shouldBe DemoOptions(null)
        parseDemoArgs(listOf("--loops", "2")) shouldBe DemoOptions(null, 2, LoopStrategy.DEFAULT)
        parseDemoArgs(listOf("--loops", "4", "--reuseport")) shouldBe DemoOptions(null, 4, LoopStrategy.REUSEPORT)
        parseDemoArgs(listOf("--acceptor", "--serve", "7000", "--loops", "2")) shouldBe
            DemoOptions(EchoAddress.Tcp(InetAddress.getLoopbackAddress(), 7000), 2, LoopStrategy.ACCEPTOR)
        parseDemoArgs(listOf("--serve", "unix:/tmp/e.sock", "--loops", "2")) shouldBe DemoOptions(EchoAddress.Unix(Path.of("/tmp/e.sock")), 2)
        for (bad in listOf(listOf("--loops"), listOf("--loops", "0"), listOf("--loops", "x"), listOf("--serve", "unix:/tmp/e.sock", "--reuseport"), listOf("--fast"))) {
            parseDemoArgs(bad) shouldBe null
        }
    }
})
