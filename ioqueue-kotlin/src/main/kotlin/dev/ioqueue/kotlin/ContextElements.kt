package dev.ioqueue.kotlin

import kotlin.coroutines.Continuation
import kotlinx.coroutines.ThreadContextElement

/**
 * Resumes this continuation now, on the calling thread, with its context's [ThreadContextElement]s
 * installed around it as its dispatcher would install them (an MDC, kotlinx's debug-mode coroutine
 * name), then restored in reverse: for a coroutine resumed in place by the loop whose context
 * cannot be resumed as it is.
 */
internal fun <T> Continuation<T>.resumeWithContextElements(result: Result<T>) {
    val context = context
    @Suppress("UNCHECKED_CAST")
    val elements = context.fold(ArrayList<ThreadContextElement<Any?>>()) { list, e ->
        if (e is ThreadContextElement<*>) list.add(e as ThreadContextElement<Any?>)
        list
    }
    val states = arrayOfNulls<Any?>(elements.size)
    for (i in elements.indices) states[i] = elements[i].updateThreadContext(context)
    try {
        resumeWith(result)
    } finally {
        for (i in elements.indices.reversed()) elements[i].restoreThreadContext(context, states[i])
    }
}
