package dev.ioqueue.kotlin

import dev.ioqueue.Backend
import dev.ioqueue.Fds
import dev.ioqueue.SyscallException
import dev.ioqueue.SyscallFailure
import io.kotest.assertions.withClue
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.string.shouldContain
import java.lang.foreign.Arena
import java.lang.foreign.FunctionDescriptor
import java.lang.foreign.Linker
import java.lang.foreign.ValueLayout
import java.nio.ByteBuffer
import java.nio.file.Path
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.runBlocking

/**
 * Out of fds before the shared queue started (outside round 49): a suspending call off any loop
 * threw the unchecked SyscallException ("cannot create this thread's queue") where kotlin.md
 * promises IOExceptions. In a JVM of its own: the shared queue starts once a process.
 */
class OutOfFdsSpec : FunSpec({
    test("a suspending call off any loop, out of fds before the shared queue started, fails with its IOException naming EMFILE") {
        val java = Path.of(System.getProperty("java.home"), "bin", "java").toString()
        val process = ProcessBuilder(
            java, "--enable-native-access=ALL-UNNAMED", "-D${Backend.PROPERTY}=${System.getProperty(Backend.PROPERTY, "auto")}",
            "-cp", System.getProperty("java.class.path"), "dev.ioqueue.kotlin.OutOfFdsSpecKt",
        ).redirectErrorStream(true).start()
        val out = String(process.inputStream.readAllBytes())
        process.waitFor(60, TimeUnit.SECONDS)
        withClue(out) {
            out shouldContain "read: SyscallIOException EMFILE"
            out shouldContain "cannot create the shared queue (thread ioqueue-background)"
            out shouldContain "after: 1"
        }
    }
})

/** Sets RLIMIT_NOFILE's soft limit. */
private fun setSoftFdLimit(soft: Long) {
    val linker = Linker.nativeLinker()
    val set = linker.downcallHandle(linker.defaultLookup().find("setrlimit").orElseThrow(),
        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS))
    Arena.ofConfined().use { arena ->
        val rl = arena.allocate(16, 8)
        rl.set(ValueLayout.JAVA_LONG, 0, soft)
        rl.set(ValueLayout.JAVA_LONG, 8, soft)
        check(set.invokeWithArguments(7, rl) as Int == 0) { "setrlimit" }
    }
}

/** The child: a plain fd's read off any loop with one fd free (a class file can still be opened; a queue needs more), then with many. */
fun main() {
    val pipe = Fds.pipe()
    try { // the classes of a failure and of a close, loaded while a class file can still be opened
        Fds.close(Fds.eventfd(0))
        Fds.isNonBlocking(1 shl 20)
    } catch (expected: SyscallException) {
        // EBADF
    }
    // An off-loop read of a ready fd loads the call's classes without the shared queue (no wait).
    Fds.write(pipe.writeFd(), byteArrayOf(1), 0, 1)
    runBlocking { read(pipe.readFd(), ByteBuffer.allocate(1)) }
    val filler = ArrayList<Int>()
    setSoftFdLimit(256)
    try {
        while (true) filler += Fds.eventfd(0)
    } catch (full: SyscallException) {
        // no fd left
    }
    Fds.close(filler.removeLast())
    runBlocking {
        try {
            read(pipe.readFd(), ByteBuffer.allocate(1))
            println("read: returned")
        } catch (e: java.io.IOException) {
            println("read: ${e.javaClass.simpleName} ${SyscallFailure.of(e)?.errnoName()} ${e.message}")
        } catch (t: Throwable) {
            println("read: unchecked $t")
        }
    }
    for (fd in filler) Fds.close(fd)
    Fds.write(pipe.writeFd(), byteArrayOf(1), 0, 1)
    println("after: " + runBlocking { read(pipe.readFd(), ByteBuffer.allocate(1)) })
}
