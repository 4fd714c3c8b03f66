package dev.ioqueue.kotlin

import dev.ioqueue.Fds
import dev.ioqueue.IoQueue
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.CompletableFuture
import java.util.concurrent.TimeUnit

/** Runs [block] on a fresh thread (so it gets a fresh queue), closes that thread's queue, returns the result. */
fun <T> onFreshThread(name: String = "loop", block: () -> T): T {
    val result = CompletableFuture<T>()
    val thread = Thread({
        try {
            result.complete(block())
        } catch (t: Throwable) {
            result.completeExceptionally(t)
        } finally {
            IoQueue.current().close()
        }
    }, name)
    thread.start()
    try {
        return result.get(120, TimeUnit.SECONDS)
    } catch (e: java.util.concurrent.ExecutionException) {
        throw e.cause!!
    }
}

/**
 * Suspends until the loop has polled the OS once more. Released interests are flushed before every
 * poll, so afterwards none is left in epoll. (A `delay` does not promise that: on a loaded machine
 * its timer may already be due when the round that set it ends, and no poll happens in between.)
 */
suspend fun loopPolledOnce() {
    val p = Fds.pipe()
    try {
        awaitWrite(p.writeFd()) // an empty pipe is writable: reported by the very next poll
    } finally {
        p.close()
    }
}

fun writeByte(fd: Int, value: Int = 1) {
    check(Fds.write(fd, byteArrayOf(value.toByte()), 0, 1) == 1) { "pipe full" }
}

fun readByte(fd: Int): Int {
    val b = ByteArray(1)
    val n = Fds.read(fd, b, 0, 1)
    return if (n == 1) b[0].toInt() and 0xFF else n
}

/** The fds registered in any epoll instance of this process, from /proc/self/fdinfo. */
fun fdsRegisteredInAnyEpoll(): Set<Int> {
    val result = HashSet<Int>()
    Files.list(Path.of("/proc/self/fd")).use { links ->
        for (link in links.toList()) {
            val target = try { Files.readSymbolicLink(link).toString() } catch (_: Exception) { continue }
            if (target != "anon_inode:[eventpoll]") continue
            val info = try { Files.readString(Path.of("/proc/self/fdinfo/${link.fileName}")) } catch (_: Exception) { continue }
            for (line in info.lines()) if (line.startsWith("tfd:")) result += line.substring(4).trim().split(Regex("\\s+"))[0].toInt()
        }
    }
    return result
}

fun threadNames(): Set<String> = Thread.getAllStackTraces().keys.map { it.name }.toSet()

/**
 * This process's open fds as "number -> what it is" (a socket's inode included). Compared as sets:
 * fds another thread closes meanwhile (a Cleaner releasing a dead thread's queue) cannot disturb
 * a check, as they could a count. File.list() closes the directory before the links are read.
 */
internal fun openFds(): Set<String> =
    java.io.File("/proc/self/fd").list()!!.mapNotNull { n -> runCatching { "$n -> ${Files.readSymbolicLink(Path.of("/proc/self/fd/$n"))}" }.getOrNull() }.toSet()
