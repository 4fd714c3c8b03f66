package dev.ioqueue.benchmarks;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.ServerChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * The Netty peers: Netty's own echo server (write what was read, flush when the read batch ends)
 * on one group of {@code loops} event loops, with one of Netty's {@link Transport}s. As in
 * ioqueue's acceptor, the listening channel lives on one loop of the group and the accepted
 * channels are spread round-robin over all of them. Netty's defaults otherwise (its pooled
 * allocator, TCP_NODELAY on accepted channels).
 */
final class NettyEcho implements AutoCloseable {
    private final EventLoopGroup group;
    private final Channel server;

    /** The transports the benchmarks compare with. */
    enum Transport {
        /** The JDK's NIO selector. */
        NIO,
        /** Netty's native epoll transport (JNI). */
        EPOLL,
        /** Netty's native io_uring transport (JNI); needs a kernel and a process that allow io_uring. */
        IO_URING
    }

    /**
     * Starts the server on a free port of the loopback address.
     *
     * @throws UnsupportedOperationException if the transport is io_uring and Netty cannot use it here (the cause says why)
     */
    NettyEcho(int loops, Transport transport) throws InterruptedException {
        if (transport == Transport.IO_URING && !IoUring.isAvailable()) {
            throw new UnsupportedOperationException("Netty io_uring is not available: " + IoUring.unavailabilityCause(), IoUring.unavailabilityCause());
        }
        group = new MultiThreadIoEventLoopGroup(loops, switch (transport) {
            case NIO -> NioIoHandler.newFactory();
            case EPOLL -> EpollIoHandler.newFactory();
            case IO_URING -> IoUringIoHandler.newFactory();
        });
        Class<? extends ServerChannel> channel = switch (transport) {
            case NIO -> NioServerSocketChannel.class;
            case EPOLL -> EpollServerSocketChannel.class;
            case IO_URING -> IoUringServerSocketChannel.class;
        };
        server = new ServerBootstrap()
                .group(group)
                .channel(channel)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new Echo())
                .bind(InetAddress.getLoopbackAddress(), 0).sync().channel();
    }

    int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    @Override
    public void close() throws InterruptedException {
        server.close().sync();
        group.shutdownGracefully(0, 5, TimeUnit.SECONDS).sync();
    }

    @ChannelHandler.Sharable
    private static final class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.write(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close(); // the client went away
        }
    }
}
