// A Kotlin Flow of file events over an inotify fd: the kind of fd java.nio's Selector cannot wait on.
//
//   run: the test FileWatcherSpec, or main() below, which watches a fresh temporary directory,
//   creates, writes and deletes a file in it, and prints what the flow saw.
package dev.ioqueue.samples

import dev.ioqueue.Fds
import dev.ioqueue.kotlin.awaitRead
import dev.ioqueue.kotlin.runIoQueue
import java.lang.foreign.Arena
import java.nio.file.Files
import java.nio.file.Path
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.flow.transformWhile
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.launch

/** One change in a watched directory. */
data class FileEvent(val kind: Kind, val name: String) {
    enum class Kind { CREATED, MODIFIED, WRITTEN, DELETED, MOVED_OUT, MOVED_IN }
}

/**
 * The changes in [dir] as a cold flow: each collection opens its own inotify fd, waits on it
 * with `awaitRead` (on whichever queue the collector runs), and closes it when the collector stops.
 */
fun watchDirectory(dir: Path): Flow<FileEvent> = flow {
    val fd = Inotify.open()
    try {
        Inotify.watch(fd, dir, Inotify.IN_CREATE or Inotify.IN_MODIFY or Inotify.IN_CLOSE_WRITE or
            Inotify.IN_DELETE or Inotify.IN_MOVED_FROM or Inotify.IN_MOVED_TO)
        Arena.ofConfined().use { arena ->
            val buffer = arena.allocate(64 * 1024L, 8)
            while (true) {
                val n = Fds.read(fd, buffer)
                if (n == Fds.WOULD_BLOCK) {
                    awaitRead(fd)
                    continue
                }
                val events = ArrayList<FileEvent>()
                Inotify.forEachEvent(buffer, n) { mask, name -> kindOf(mask)?.let { events += FileEvent(it, name) } }
                for (e in events) emit(e)
            }
        }
    } finally {
        Fds.close(fd)
    }
}

private fun kindOf(mask: Int): FileEvent.Kind? = when {
    mask and Inotify.IN_CREATE != 0 -> FileEvent.Kind.CREATED
    mask and Inotify.IN_MODIFY != 0 -> FileEvent.Kind.MODIFIED
    mask and Inotify.IN_CLOSE_WRITE != 0 -> FileEvent.Kind.WRITTEN
    mask and Inotify.IN_DELETE != 0 -> FileEvent.Kind.DELETED
    mask and Inotify.IN_MOVED_FROM != 0 -> FileEvent.Kind.MOVED_OUT
    mask and Inotify.IN_MOVED_TO != 0 -> FileEvent.Kind.MOVED_IN
    else -> null
}

fun main() {
    val dir = Files.createTempDirectory("ioqueue-watch")
    val seen = runIoQueue {
        val events = async {
            watchDirectory(dir).transformWhile { emit(it); !(it.kind == FileEvent.Kind.DELETED && it.name == "note.txt") }.toList()
        }
        launch {
            kotlinx.coroutines.delay(50) // the watch is set up by then
            val file = dir.resolve("note.txt")
            Files.writeString(file, "hello")
            Files.writeString(file, "hello again")
            Files.delete(file)
        }
        events.await()
    }
    seen.forEach { println("${it.kind} ${it.name}") }
    Files.delete(dir)
}
