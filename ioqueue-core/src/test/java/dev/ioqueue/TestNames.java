package dev.ioqueue;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.net.spi.InetAddressResolver;
import java.net.spi.InetAddressResolverProvider;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.Stream;

/**
 * The test JVM's name resolver (the JDK's resolver SPI): the system's for every name, except
 * that {@code localhost} resolves to both loopback families even where {@code /etc/hosts} names
 * one (the system's answer first, so {@code getByName} is unchanged), and {@code slow.ioqueue.test}
 * takes {@link #SLOW_MILLIS} to resolve to 127.0.0.1, recording the threads that asked.
 */
public final class TestNames extends InetAddressResolverProvider {
    static final String SLOW = "slow.ioqueue.test";
    static final long SLOW_MILLIS = 300;
    static final ConcurrentLinkedQueue<Thread> slowCallers = new ConcurrentLinkedQueue<>();

    @Override
    public InetAddressResolver get(Configuration configuration) {
        InetAddressResolver system = configuration.builtinResolver();
        return new InetAddressResolver() {
            @Override
            public Stream<InetAddress> lookupByName(String host, LookupPolicy policy) throws UnknownHostException {
                if (host.equals(SLOW)) {
                    slowCallers.add(Thread.currentThread());
                    try {
                        Thread.sleep(SLOW_MILLIS);
                    } catch (InterruptedException e) {
                        throw new UnknownHostException("interrupted");
                    }
                    return Stream.of(InetAddress.getByAddress(SLOW, new byte[] {127, 0, 0, 1}));
                }
                List<InetAddress> found = new ArrayList<>(system.lookupByName(host, policy).toList());
                if (host.equals("localhost")) {
                    InetAddress v4 = InetAddress.getByAddress("localhost", new byte[] {127, 0, 0, 1});
                    InetAddress v6 = InetAddress.getByAddress("localhost", new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
                    if (found.stream().noneMatch(a -> a.equals(v4))) found.add(v4);
                    if (found.stream().noneMatch(a -> a.equals(v6))) found.add(v6);
                }
                return found.stream();
            }

            @Override
            public String lookupByAddress(byte[] addr) throws UnknownHostException {
                return system.lookupByAddress(addr);
            }
        };
    }

    @Override
    public String name() {
        return "ioqueue test names";
    }
}
