// A Kotlin Flow of file events over the library's Inotify: the kind of fd java.nio's Selector
// cannot wait on.
//
//   run: the test FileWatcherSpec, or main() below, which watches a fresh temporary directory,
//   creates, writes and deletes a file in it, and prints what the flow saw.
package dev.ioqueue.samples

import dev.ioqueue.Inotify
import dev.ioqueue.kotlin.events
import dev.ioqueue.kotlin.runIoQueue
import java.nio.file.Files
import java.nio.file.Path
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.flow.mapNotNull
import kotlinx.coroutines.flow.emitAll
import kotlinx.coroutines.flow.transformWhile
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.launch

/** One change in a watched directory. */
data class FileEvent(val kind: Kind, val name: String) {
    enum class Kind { CREATED, MODIFIED, WRITTEN, DELETED, MOVED_OUT, MOVED_IN }
}

/**
 * The changes in [dir] as a cold flow: each collection opens its own [Inotify] instance, collects
 * its events (waiting on whichever queue the collector runs), and closes it when the collector stops.
 */
fun watchDirectory(dir: Path): Flow<FileEvent> = flow {
    Inotify.open().use { inotify ->
        inotify.add(dir, WATCHED)
        emitAll(inotify.events().mapNotNull { e -> kindOf(e.kinds())?.let { FileEvent(it, e.name() ?: "") } })
    }
}

private val WATCHED = setOf(
    Inotify.Kind.CREATE, Inotify.Kind.MODIFY, Inotify.Kind.CLOSE_WRITE,
    Inotify.Kind.DELETE, Inotify.Kind.MOVED_FROM, Inotify.Kind.MOVED_TO,
)

private fun kindOf(kinds: Set<Inotify.Kind>): FileEvent.Kind? = when {
    Inotify.Kind.CREATE in kinds -> FileEvent.Kind.CREATED
    Inotify.Kind.MODIFY in kinds -> FileEvent.Kind.MODIFIED
    Inotify.Kind.CLOSE_WRITE in kinds -> FileEvent.Kind.WRITTEN
    Inotify.Kind.DELETE in kinds -> FileEvent.Kind.DELETED
    Inotify.Kind.MOVED_FROM in kinds -> FileEvent.Kind.MOVED_OUT
    Inotify.Kind.MOVED_TO in kinds -> FileEvent.Kind.MOVED_IN
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
