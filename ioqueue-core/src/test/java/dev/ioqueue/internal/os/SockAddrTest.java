package dev.ioqueue.internal.os;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** The bytes the kernel is handed: each struct as {@code <netinet/in.h>} and {@code <sys/un.h>} lay it out (little-endian host). */
class SockAddrTest {
    private static String hex(SockAddr sa) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment copy = arena.allocate(sa.length());
            sa.copyTo(copy);
            return HexFormat.of().formatHex(copy.toArray(ValueLayout.JAVA_BYTE));
        }
    }

    @Test
    void sockaddrIn6HasFamilyPortFlowinfoAddressAndScopeAt0_2_4_8_24() {
        byte[] ip = HexFormat.of().parseHex("fe800000000000000000000000000001");
        assertEquals("0a00" + "1f90" + "00000000" + "fe800000000000000000000000000001" + "03000000",
                hex(SockAddr.inet6(ip, 8080, 3)));
    }

    @Test
    void sockaddrInHasFamilyPortAddressAndEightZeroes() {
        assertEquals("0200" + "0050" + "7f000001" + "0000000000000000", hex(SockAddr.inet4(new byte[] {127, 0, 0, 1}, 80)));
    }

    @Test
    void aUnixPathIsFollowedByItsNulAndCountedInAddrlen() {
        SockAddr sa = SockAddr.unixPath("/a".getBytes(StandardCharsets.UTF_8));
        assertEquals("0100" + "2f61" + "00", hex(sa));
        assertEquals(2 + 2 + 1, sa.length());
    }

    @Test
    void anAbstractNameFollowsALeadingNulWithNoTrailingOne() {
        SockAddr sa = SockAddr.unixAbstract("ab".getBytes(StandardCharsets.UTF_8));
        assertEquals("0100" + "00" + "6162", hex(sa));
        assertEquals(2 + 1 + 2, sa.length());
    }

    @Test
    void decodeReadsBackPortAddressAndScopeOfAnIpv6Address() {
        byte[] ip = HexFormat.of().parseHex("00000000000000000000000000000001");
        SockAddr original = SockAddr.inet6(ip, 65535, 7);
        byte[] storage = new byte[SockAddr.STORAGE_SIZE];
        String hex = hex(original);
        System.arraycopy(HexFormat.of().parseHex(hex), 0, storage, 0, hex.length() / 2);
        SockAddr decoded = SockAddr.decode(storage, 28);
        assertEquals(SocketCalls.AF_INET6, decoded.family());
        assertEquals(65535, decoded.port());
        assertArrayEquals(ip, decoded.ip());
        assertEquals(7, decoded.scopeId());
    }
}
