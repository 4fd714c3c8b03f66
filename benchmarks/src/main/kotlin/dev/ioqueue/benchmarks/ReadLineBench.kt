package dev.ioqueue.benchmarks

import dev.ioqueue.Fds
import dev.ioqueue.Handle
import dev.ioqueue.ReadyEvent
import dev.ioqueue.Sockets
import dev.ioqueue.kotlin.reader
import dev.ioqueue.kotlin.runIoQueue
import java.io.BufferedReader
import java.io.InputStreamReader
import java.io.OutputStream
import java.net.InetAddress
import java.net.ServerSocket
import java.net.Socket
import java.nio.charset.StandardCharsets

/**
 * `readLine` over a line stream: ioqueue's Kotlin [dev.ioqueue.kotlin.HandleReader] on a loop
 * against the JDK's `BufferedReader` over a JDK socket, in one run, on loopback TCP. Each side
 * reads [gib] GiB of 80-byte UTF-8 lines that a JDK socket writes from another thread; the table
 * gives MB/s and lines, and the ratio (issue 19's target: ioqueue within 1.5x of the JDK).
 *
 * Run: `java --enable-native-access=ALL-UNNAMED -cp <benchmarks classpath> dev.ioqueue.benchmarks.ReadLineBenchKt [GiB] [rounds]`
 * (defaults 1 GiB, 3 rounds; the best round of each side is reported).
 */
fun main(args: Array<String>) {
    val gib = args.getOrNull(0)?.toDouble() ?: 1.0
    val rounds = args.getOrNull(1)?.toInt() ?: 3
    val total = (gib * (1L shl 30)).toLong()
    val block = lineBlock()
    var bestJdk = Double.MAX_VALUE
    var bestOurs = Double.MAX_VALUE
    repeat(rounds) { round ->
        val jdk = timeJdk(total, block)
        val ours = timeIoqueue(total, block)
        bestJdk = minOf(bestJdk, jdk)
        bestOurs = minOf(bestOurs, ours)
        println("round ${round + 1}: JDK BufferedReader %.0f MB/s, ioqueue readLine %.0f MB/s".format(mbps(total, jdk), mbps(total, ours)))
    }
    println("best: JDK %.0f MB/s, ioqueue %.0f MB/s, ioqueue time / JDK time = %.2f (target <= 1.5)"
        .format(mbps(total, bestJdk), mbps(total, bestOurs), bestOurs / bestJdk))
}

private fun mbps(bytes: Long, seconds: Double) = bytes / seconds / 1e6

/** 1 MiB of 80-byte lines (79 characters and `\n`). */
private fun lineBlock(): ByteArray {
    val line = ("x".repeat(71) + "-0123456").toByteArray(StandardCharsets.UTF_8) + '\n'.code.toByte()
    val out = ByteArray((1 shl 20) / line.size * line.size)
    for (i in out.indices step line.size) line.copyInto(out, i)
    return out
}

private fun writeAll(out: OutputStream, total: Long, block: ByteArray) {
    var sent = 0L
    while (sent < total) {
        val n = minOf(block.size.toLong(), total - sent).toInt()
        out.write(block, 0, n)
        sent += n
    }
    out.close()
}

private fun timeJdk(total: Long, block: ByteArray): Double = ServerSocket(0, 1, InetAddress.getLoopbackAddress()).use { server ->
    val writer = Thread.ofPlatform().start { Socket(InetAddress.getLoopbackAddress(), server.localPort).use { writeAll(it.getOutputStream(), total, block) } }
    server.accept().use { s ->
        val start = System.nanoTime()
        var lines = 0L
        BufferedReader(InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).use { r -> while (r.readLine() != null) lines++ }
        val seconds = (System.nanoTime() - start) / 1e9
        writer.join()
        check(lines == (total + 79) / 80) { "JDK read $lines lines" }
        seconds
    }
}

private fun timeIoqueue(total: Long, block: ByteArray): Double {
    val listener = Sockets.listenTcp(InetAddress.getLoopbackAddress(), 0, 1)
    val port = Sockets.localPort(listener)
    val writer = Thread.ofPlatform().start { Socket(InetAddress.getLoopbackAddress(), port).use { writeAll(it.getOutputStream(), total, block) } }
    Fds.awaitReady(listener, ReadyEvent.READ)
    val fd = Sockets.accept(listener)
    Fds.close(listener)
    var seconds = 0.0
    Thread.ofPlatform().start {
        runIoQueue {
            Handle.of(fd).use { h ->
                val r = h.reader()
                val start = System.nanoTime()
                var lines = 0L
                while (r.readLine() != null) lines++
                seconds = (System.nanoTime() - start) / 1e9
                check(lines == (total + 79) / 80) { "ioqueue read $lines lines" }
            }
        }
    }.join()
    writer.join()
    return seconds
}
