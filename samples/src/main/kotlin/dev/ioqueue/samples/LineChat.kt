package dev.ioqueue.samples

import dev.ioqueue.Fds
import dev.ioqueue.Handle
import dev.ioqueue.Sockets
import dev.ioqueue.kotlin.HandleWriter
import dev.ioqueue.kotlin.awaitReadable
import dev.ioqueue.kotlin.reader
import dev.ioqueue.kotlin.writer
import java.io.IOException
import java.net.InetAddress
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.launch
import kotlinx.io.writeString

/**
 * The line chat server in Kotlin, on one loop: a coroutine per client reads with [readLine]
 * ([dev.ioqueue.kotlin.HandleReader]); the first line is the client's name, later lines go to the
 * others as `name: line`, `/quit` leaves. Each client has an outbox drained by its own writer
 * coroutine, so a slow client never holds up the others. Run it inside `runIoQueue`; cancelling
 * the coroutine closes the listener and every client.
 */
public suspend fun lineChat(listener: Handle): Unit = coroutineScope {
    val clients = LinkedHashMap<Handle, Channel<String>>()
    try {
        while (true) {
            listener.awaitReadable()
            val fd = Sockets.accept(listener.fd())
            if (fd == Fds.WOULD_BLOCK) continue
            val handle = Handle.of(fd)
            val outbox = Channel<String>(capacity = 256)
            launch { serve(handle, outbox, clients) }
        }
    } finally {
        listener.close()
        clients.keys.forEach { it.close() }
    }
}

private fun CoroutineScope.serve(handle: Handle, outbox: Channel<String>, clients: MutableMap<Handle, Channel<String>>) {
    val writer = handle.writer()
    val writing = launch { drain(writer, outbox) }
    launch {
        var name: String? = null
        try {
            val reader = handle.reader()
            name = reader.readLine()?.takeIf { it.isNotBlank() } ?: return@launch
            outbox.trySend("* welcome, $name")
            clients[handle] = outbox
            broadcast(clients, handle, "* $name joined")
            while (true) {
                val line = reader.readLine() ?: break
                if (line == "/quit") break
                broadcast(clients, handle, "$name: $line")
            }
        } catch (e: IOException) {
            // a reset or a close: this client is gone
        } finally {
            if (clients.remove(handle) != null) broadcast(clients, handle, "* $name left")
            outbox.close()
            writing.join()
            handle.close()
        }
    }
}

private suspend fun drain(writer: HandleWriter, outbox: Channel<String>) {
    try {
        for (first in outbox) {
            var line: String? = first
            while (line != null) { // a burst of lines queued meanwhile goes out in one write
                writer.buffer.writeString(line)
                writer.buffer.writeString("\n")
                line = outbox.tryReceive().getOrNull()
            }
            writer.flush()
        }
    } catch (e: IOException) {
        outbox.cancel()
    }
}

private fun broadcast(clients: Map<Handle, Channel<String>>, from: Handle, line: String) {
    for ((h, box) in clients) if (h !== from) box.trySend(line) // a full outbox drops the line for that client
}

/** `LineChatKt [port]`: serves on 127.0.0.1 until killed. */
public fun main(args: Array<String>) {
    val fd = Sockets.listenTcp(InetAddress.getLoopbackAddress(), args.firstOrNull()?.toInt() ?: 7008, 128)
    println("chat on 127.0.0.1:${Sockets.localPort(fd)} (nc 127.0.0.1 ${Sockets.localPort(fd)})")
    dev.ioqueue.kotlin.runIoQueue { lineChat(Handle.of(fd)) }
}
