package dev.ioqueue.kotlin

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import java.lang.reflect.Method
import java.lang.reflect.Modifier
import java.nio.file.FileSystems
import java.nio.file.Files
import java.nio.file.Path
import kotlin.reflect.KVisibility
import kotlin.reflect.jvm.kotlinFunction

/**
 * The public API of ioqueue-kotlin (what Kotlin sees as public in `dev.ioqueue.kotlin`, as the JVM
 * sees it: classes, file facades' functions, members), dumped by reflection and compared with the
 * checked-in `api/ioqueue-kotlin.api`, so that a change to it is deliberate. After a deliberate
 * change: `./mvnw -pl ioqueue-kotlin test -Dtest=PublicApiSpec -Dioqueue.api.update=true`, and
 * commit the file with the change.
 */
class PublicApiSpec : FunSpec({
    test("the public API matches the checked-in dump") {
        // Run from ioqueue-kotlin, or from coroutines-oldest (which runs these tests on the jar).
        val dump = listOf(Path.of("api", "ioqueue-kotlin.api"), Path.of("..", "ioqueue-kotlin", "api", "ioqueue-kotlin.api"))
            .firstOrNull { Files.exists(it.parent) } ?: Path.of("api", "ioqueue-kotlin.api")
        val actual = publicApi()
        if (System.getProperty("ioqueue.api.update").toBoolean()) Files.writeString(dump, actual)
        val expected = if (Files.exists(dump)) Files.readString(dump) else "(no $dump yet)\n"
        actual shouldBe expected // a deliberate change: regenerate with -Dioqueue.api.update=true
    }
})

private fun publicApi(): String {
    val location = IoQueueDispatcher::class.java.protectionDomain.codeSource.location.toURI()
    val root = Path.of(location)
    val names = if (Files.isDirectory(root)) classNames(root) else FileSystems.newFileSystem(root).use { classNames(it.getPath("/")) }
    val out = StringBuilder()
    for (name in names) {
        val c = Class.forName(name, false, IoQueueDispatcher::class.java.classLoader)
        if (!Modifier.isPublic(c.modifiers) || c.isSynthetic || c.isAnonymousClass) continue
        val metadataKind = c.getAnnotation(Metadata::class.java)?.kind
        val facade = metadataKind == 2 // a file's top-level declarations
        if (!facade && (metadataKind != 1 || c.kotlin.visibility != KVisibility.PUBLIC)) continue
        if (!facade) out.append(describe(c)).append('\n')
        val members = ArrayList<String>()
        if (!facade) {
            for (k in c.declaredConstructors) {
                val kotlinVisibility = try { k.kotlinFunction?.visibility } catch (_: Throwable) { null }
                if (visible(k.modifiers, c) && !k.isSynthetic && k.parameterTypes.none { it.name.endsWith("DefaultConstructorMarker") } &&
                    (kotlinVisibility == null || kotlinVisibility == KVisibility.PUBLIC || kotlinVisibility == KVisibility.PROTECTED)
                ) {
                    members += k.toGenericString()
                }
            }
            for (f in c.declaredFields) if (visible(f.modifiers, c) && !f.isSynthetic) members += f.toGenericString()
        }
        for (m in c.declaredMethods) if (visible(m.modifiers, c) && !m.isSynthetic && !m.isBridge && publicInKotlin(m)) members += m.toGenericString()
        if (facade && members.isEmpty()) continue
        if (facade) out.append("file ").append(c.name).append('\n')
        members.sorted().forEach { out.append("    ").append(it).append('\n') }
    }
    return out.toString()
}

private fun classNames(root: Path): List<String> {
    val pkg = root.resolve("dev/ioqueue/kotlin")
    return Files.list(pkg).use { s -> s.map { it.fileName.toString() }.filter { it.endsWith(".class") }.sorted().toList() }
        .map { "dev.ioqueue.kotlin." + it.removeSuffix(".class") }
}

/** Not an internal member (mangled with a `$`) or an internal top-level function. */
private fun publicInKotlin(m: Method): Boolean {
    if ('$' in m.name) return false
    val f = try { m.kotlinFunction } catch (_: Throwable) { null } ?: return true // an accessor: its class decides
    return f.visibility == KVisibility.PUBLIC || f.visibility == KVisibility.PROTECTED
}

private fun visible(modifiers: Int, owner: Class<*>): Boolean =
    Modifier.isPublic(modifiers) || (Modifier.isProtected(modifiers) && !Modifier.isFinal(owner.modifiers))

private fun describe(c: Class<*>): String {
    val b = StringBuilder(c.toGenericString())
    val superclass = c.genericSuperclass
    if (superclass != null && c.superclass != Any::class.java) b.append(" extends ").append(superclass.typeName)
    if (c.genericInterfaces.isNotEmpty()) b.append(" implements ").append(c.genericInterfaces.joinToString { it.typeName })
    return b.toString()
}
