package dev.ioqueue.kotlin

import dev.ioqueue.Inotify
import dev.ioqueue.Inotify.Kind
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import java.nio.file.Files
import java.util.EnumSet
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.yield

private fun Inotify.Event.describe() = "${kinds().joinToString("+")} ${name()}"

class InotifyFlowSpec : FunSpec({
    test("events emits a temp file's create, modify and delete with its name, on runIoQueue") {
        val dir = Files.createTempDirectory("ioqueue-inotify")
        onFreshThread {
            Inotify.open().use { inotify ->
                inotify.add(dir, EnumSet.of(Kind.CREATE, Kind.MODIFY, Kind.DELETE))
                runIoQueue {
                    val seen = async { inotify.events().map { it.describe() }.take(3).toList() }
                    yield() // the collector waits
                    val file = dir.resolve("note.txt")
                    Files.writeString(file, "hello")
                    Files.delete(file)
                    seen.await()
                } shouldBe listOf("CREATE note.txt", "MODIFY note.txt", "DELETE note.txt")
            }
        }
        Files.delete(dir)
    }

    test("events reports a removed watch as IGNORED, on Dispatchers.Default") {
        val dir = Files.createTempDirectory("ioqueue-inotify")
        Inotify.open().use { inotify ->
            val watch = inotify.add(dir, EnumSet.of(Kind.CREATE))
            inotify.remove(watch)
            val event = runBlocking(Dispatchers.Default) { inotify.events().take(1).toList() }.single()
            event.watch() shouldBe watch
            event.kinds() shouldBe setOf(Kind.IGNORED)
        }
        Files.delete(dir)
    }
})
