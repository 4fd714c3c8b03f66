package dev.ioqueue.samples

import dev.ioqueue.SyscallException
import java.lang.foreign.Arena
import java.lang.foreign.FunctionDescriptor
import java.lang.foreign.Linker
import java.lang.foreign.MemoryLayout
import java.lang.foreign.MemorySegment
import java.lang.foreign.ValueLayout.ADDRESS
import java.lang.foreign.ValueLayout.JAVA_INT
import java.lang.invoke.MethodHandle
import java.lang.invoke.VarHandle
import java.nio.file.Path

/**
 * inotify(7) through java.lang.foreign, the way a user brings any fd the library does not know:
 * a few downcalls, and the fd goes to the queue like any other.
 */
object Inotify {
    const val IN_MODIFY = 0x2
    const val IN_CLOSE_WRITE = 0x8
    const val IN_MOVED_FROM = 0x40
    const val IN_MOVED_TO = 0x80
    const val IN_CREATE = 0x100
    const val IN_DELETE = 0x200
    private const val IN_NONBLOCK = 0x800
    private const val IN_CLOEXEC = 0x80000

    private val linker = Linker.nativeLinker()
    private val capture = Linker.Option.captureCallState("errno")
    private val errnoHandle: VarHandle =
        Linker.Option.captureStateLayout().varHandle(MemoryLayout.PathElement.groupElement("errno"))
    private val init1: MethodHandle = linker.downcallHandle(
        linker.defaultLookup().find("inotify_init1").orElseThrow(), FunctionDescriptor.of(JAVA_INT, JAVA_INT), capture)
    private val addWatch: MethodHandle = linker.downcallHandle(
        linker.defaultLookup().find("inotify_add_watch").orElseThrow(),
        FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), capture)

    /** A non-blocking, close-on-exec inotify fd. */
    fun open(): Int = Arena.ofConfined().use { arena ->
        val state = arena.allocate(Linker.Option.captureStateLayout())
        val fd = init1.invokeWithArguments(state, IN_NONBLOCK or IN_CLOEXEC) as Int
        if (fd < 0) throw SyscallException("inotify_init1", -1, errnoHandle.get(state, 0L) as Int)
        fd
    }

    /** Watches [dir] for [mask] events on [fd]. */
    fun watch(fd: Int, dir: Path, mask: Int): Int = Arena.ofConfined().use { arena ->
        val state = arena.allocate(Linker.Option.captureStateLayout())
        val wd = addWatch.invokeWithArguments(state, fd, arena.allocateFrom(dir.toString()), mask) as Int
        if (wd < 0) throw SyscallException("inotify_add_watch", fd, errnoHandle.get(state, 0L) as Int, dir.toString())
        wd
    }

    /** Walks the `struct inotify_event` records in [buffer] (wd, mask, cookie, len, name[len]). */
    inline fun forEachEvent(buffer: MemorySegment, length: Int, action: (mask: Int, name: String) -> Unit) {
        var offset = 0L
        while (offset + 16 <= length) {
            val mask = buffer.get(JAVA_INT, offset + 4)
            val nameLength = buffer.get(JAVA_INT, offset + 12)
            val name = if (nameLength > 0) buffer.getString(offset + 16) else ""
            action(mask, name)
            offset += 16 + nameLength
        }
    }
}
