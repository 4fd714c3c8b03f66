// The Kotlin example of README.md, kept compiling and running by ReadmeExamplesSpec.
package dev.ioqueue.samples

import dev.ioqueue.Fds
import dev.ioqueue.kotlin.awaitRead
import dev.ioqueue.kotlin.runIoQueue
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch

fun readmeKotlinExample() = runIoQueue {       // this thread's queue drives the coroutine
    val pipe = Fds.pipe()
    launch {
        delay(10)                              // a timer of the same queue: no extra thread
        Fds.write(pipe.writeFd(), "hi".toByteArray(), 0, 2)
    }
    val events = awaitRead(pipe.readFd())      // suspends; the loop resumes it in place
    val buf = ByteArray(16)
    println("${Fds.read(pipe.readFd(), buf, 0, 16)} bytes, OS reported $events")
    pipe.close()
}
