// The first Kotlin example of docs/io.md (once at the top of README.md), kept compiling and running by ReadmeExamplesSpec.
package dev.ioqueue.samples

import dev.ioqueue.Fds
import dev.ioqueue.kotlin.read
import dev.ioqueue.kotlin.runIoQueue
import dev.ioqueue.kotlin.writeFully
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch

fun readmeKotlinExample() = runIoQueue {       // this thread's queue drives the coroutine
    val pipe = Fds.pipe()
    launch {
        delay(10)                              // a timer of the same queue: no extra thread
        writeFully(pipe.writeFd(), "hi".toByteArray())
    }
    val buf = ByteArray(16)
    val n = read(pipe.readFd(), buf)           // suspends until data comes; the loop resumes it in place
    println("$n bytes: ${String(buf, 0, n)}")
    pipe.close()
}
