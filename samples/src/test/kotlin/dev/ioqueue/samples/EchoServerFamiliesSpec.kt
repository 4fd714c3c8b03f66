package dev.ioqueue.samples

import dev.ioqueue.Backend
import io.kotest.core.spec.style.FunSpec
import io.kotest.core.test.Enabled
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldStartWith
import java.net.InetAddress
import java.net.InetSocketAddress
import java.net.SocketAddress
import java.net.StandardProtocolFamily
import java.net.UnixDomainSocketAddress
import java.nio.ByteBuffer
import java.nio.channels.SocketChannel
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.TimeUnit
import kotlin.random.Random

private val loopback6: InetAddress = InetAddress.getByName("::1")

/** Whether lo has ::1 (/proc/net/if_inet6), saying why not. */
private fun ipv6Loopback(): Enabled {
    val table = Path.of("/proc/net/if_inet6")
    val present = Files.exists(table) && Files.readAllLines(table).any { it.startsWith("0".repeat(31) + "1") && it.trim().endsWith(" lo") }
    return if (present) Enabled.enabled else Enabled.disabled("no IPv6 on lo: $table lists no ::1").also { println("EchoServerFamiliesSpec: ${it.reason}") }
}

/** A JDK client: sends [size] random bytes to [address], reads them back, compares. */
private fun jdkRoundTrip(address: SocketAddress, size: Int): Boolean {
    val family = if (address is UnixDomainSocketAddress) StandardProtocolFamily.UNIX else StandardProtocolFamily.INET6
    return SocketChannel.open(family).use { channel ->
        channel.connect(address)
        val data = Random.nextBytes(size)
        val back = ByteBuffer.allocate(size)
        val writer = Thread { channel.write(ByteBuffer.wrap(data)) }.apply { start() } // more than the socket buffers hold
        while (back.hasRemaining()) channel.read(back)
        writer.join()
        back.array().contentEquals(data)
    }
}

/** Runs `EchoDemo.kt`'s main in a child JVM with [args]; returns it with its first stdout line. */
private fun demoProcess(vararg args: String): Pair<Process, String?> {
    val java = ProcessHandle.current().info().command().orElse("java")
    val backend = System.getProperty(Backend.PROPERTY)?.let { listOf("-D${Backend.PROPERTY}=$it") }.orEmpty() // the backend this run tests
    val command = listOf(java, "--enable-native-access=ALL-UNNAMED") + backend +
        listOf("-cp", System.getProperty("java.class.path"), "dev.ioqueue.samples.EchoDemoKt") + args
    val process = ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.PIPE).start()
    return process to process.inputReader().readLine()
}

class EchoServerFamiliesSpec : FunSpec({
    test("the sample server echoes a JDK client's bytes over a Unix domain socket, and deletes its file when stopped") {
        val dir = Files.createTempDirectory("ioqueue-echo-unix")
        val path = dir.resolve("echo.sock")
        EchoServerThread(EchoAddress.Unix(path)).use { server ->
            server.inetAddress shouldBe null
            jdkRoundTrip(UnixDomainSocketAddress.of(path), 1 shl 20) shouldBe true
            server.awaitAllClosed()
            server.stats.connections().single().end() shouldBe "eof"
        }
        Files.exists(path) shouldBe false
        Files.delete(dir)
    }

    test("the sample server echoes a JDK client's bytes over IPv6 on ::1").config(enabledOrReasonIf = { ipv6Loopback() }) {
        EchoServerThread(EchoAddress.Tcp(loopback6, 0)).use { server ->
            server.inetAddress!!.address shouldBe loopback6
            jdkRoundTrip(InetSocketAddress(loopback6, server.port), 1 shl 20) shouldBe true
            server.awaitAllClosed()
        }
    }

    test("--serve takes PORT, [IPV6]:PORT and unix:PATH, and nothing else") {
        parseServeAddress("7000") shouldBe EchoAddress.Tcp(InetAddress.getLoopbackAddress(), 7000)
        parseServeAddress("[::1]:7000") shouldBe EchoAddress.Tcp(loopback6, 7000)
        parseServeAddress("unix:/tmp/echo.sock") shouldBe EchoAddress.Unix(Path.of("/tmp/echo.sock"))
        for (bad in listOf("x", "70000", "-1", "[::1]", "[::1]:", "[::1]:x", "[localhost]:7000", "[1.2.3.4]:7000", "::1:7000", "unix:")) {
            parseServeAddress(bad) shouldBe null
        }
    }

    test("./demo --serve with a bad address exits 2 with the one-line usage") {
        val (process, stdout) = demoProcess("--serve", "[nope]:7000")
        process.waitFor(60, TimeUnit.SECONDS) shouldBe true
        process.exitValue() shouldBe 2
        stdout shouldBe null
        process.errorReader().readLines() shouldBe listOf("usage: ./demo [--serve PORT | --serve [IPV6]:PORT | --serve unix:PATH]")
    }

    test("./demo --serve unix:PATH serves an outside client and removes its socket file on SIGTERM") {
        val dir = Files.createTempDirectory("ioqueue-demo-unix")
        val path = dir.resolve("demo.sock")
        val (process, banner) = demoProcess("--serve", "unix:$path")
        try {
            banner!! shouldStartWith "ioqueue mixed echo server on unix:$path,"
            jdkRoundTrip(UnixDomainSocketAddress.of(path), 64 * 1024) shouldBe true
        } finally {
            process.destroy()
            process.waitFor(60, TimeUnit.SECONDS) shouldBe true
        }
        Files.exists(path) shouldBe false
        Files.delete(dir)
    }

    test("./demo --serve [::1]:0 serves an outside client on the port it prints").config(enabledOrReasonIf = { ipv6Loopback() }) {
        val (process, banner) = demoProcess("--serve", "[::1]:0")
        try {
            banner!! shouldStartWith "ioqueue mixed echo server on [0:0:0:0:0:0:0:1]:"
            val port = banner.substringAfter("]:").substringBefore(",").toInt()
            jdkRoundTrip(InetSocketAddress(loopback6, port), 64 * 1024) shouldBe true
        } finally {
            process.destroy()
            process.waitFor(60, TimeUnit.SECONDS) shouldBe true
        }
    }
})
