package dev.ioqueue.internal.os;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * io_uring(7): the three syscalls, {@code mmap} for the rings, and the constants and struct offsets
 * of {@code <linux/io_uring.h>} the queue uses. Every method returns the syscall's result, or
 * {@code -errno}; policy lives in the {@code Ring} above. The syscalls go through libc's variadic
 * {@code syscall(2)} (glibc has no wrappers), every argument passed as a long.
 *
 * <pre>
 * struct io_uring_params {        // 120 bytes
 *     u32 sq_entries, cq_entries, flags, sq_thread_cpu, sq_thread_idle, features, wq_fd, resv[3];
 *     struct io_sqring_offsets sq_off;  // offset 40: head, tail, ring_mask, ring_entries, flags, dropped, array, resv1 (u32); user_addr (u64)
 *     struct io_cqring_offsets cq_off;  // offset 80: head, tail, ring_mask, ring_entries, overflow, cqes, flags, resv1 (u32); user_addr (u64)
 * };
 * struct io_uring_sqe {           // 64 bytes
 *     u8 opcode; u8 flags; u16 ioprio; s32 fd; u64 off; u64 addr; u32 len; u32 op_flags;
 *     u64 user_data; u16 buf_group; u16 personality; s32 file_index; u64 addr3; u64 pad;
 * };
 * struct io_uring_cqe { u64 user_data; s32 res; u32 flags; };   // 16 bytes
 * </pre>
 */
public final class Uring {
    public static final long PARAMS_SIZE = 120;
    public static final long P_SQ_ENTRIES = 0, P_CQ_ENTRIES = 4, P_FLAGS = 8, P_FEATURES = 20;
    public static final long P_SQ_OFF = 40, P_CQ_OFF = 80;
    /** Within sq_off and cq_off. */
    public static final long OFF_HEAD = 0, OFF_TAIL = 4, OFF_RING_MASK = 8, OFF_RING_ENTRIES = 12;
    public static final long SQ_OFF_ARRAY = 24, CQ_OFF_OVERFLOW = 16, CQ_OFF_CQES = 20;

    public static final int SETUP_CQSIZE = 1 << 3;
    public static final int SETUP_SUBMIT_ALL = 1 << 7;
    public static final int SETUP_SINGLE_ISSUER = 1 << 12;
    public static final int SETUP_DEFER_TASKRUN = 1 << 13;

    public static final int FEAT_SINGLE_MMAP = 1;
    public static final int FEAT_NODROP = 1 << 1;
    public static final int FEAT_EXT_ARG = 1 << 8;

    public static final long SQE_SIZE = 64;
    public static final long SQE_OPCODE = 0, SQE_FLAGS = 1, SQE_IOPRIO = 2, SQE_FD = 4, SQE_OFF = 8, SQE_ADDR = 16,
            SQE_LEN = 24, SQE_OP_FLAGS = 28, SQE_USER_DATA = 32, SQE_BUF_GROUP = 40;
    public static final long CQE_SIZE = 16;
    public static final long CQE_USER_DATA = 0, CQE_RES = 8, CQE_FLAGS = 12;

    public static final byte OP_NOP = 0;
    public static final byte OP_POLL_ADD = 6;
    public static final byte OP_ASYNC_CANCEL = 14;
    public static final byte OP_WRITE = 23;
    public static final byte OP_READ_MULTISHOT = 49;

    public static final byte SQE_FIXED_FILE = 1;
    public static final byte SQE_BUFFER_SELECT = 1 << 5;
    public static final byte SQE_CQE_SKIP_SUCCESS = 1 << 6;

    public static final int POLL_ADD_MULTI = 1;
    public static final int ASYNC_CANCEL_ANY = 1 << 2;

    public static final int CQE_F_BUFFER = 1;
    public static final int CQE_F_MORE = 1 << 1;
    /** The provided buffer named by the CQE stays the kernel's: more of its bytes come in later CQEs ({@link #PBUF_RING_INC}). */
    public static final int CQE_F_BUF_MORE = 1 << 4;
    public static final int CQE_BUFFER_SHIFT = 16;

    public static final int ENTER_GETEVENTS = 1;
    public static final int ENTER_EXT_ARG = 1 << 3;
    public static final int ENTER_REGISTERED_RING = 1 << 4;
    /** {@code struct io_uring_getevents_arg}: u64 sigmask; u32 sigmask_sz; u32 min_wait_usec; u64 ts. */
    public static final long GETEVENTS_ARG_SIZE = 24;
    public static final long GETEVENTS_ARG_TS = 16;

    public static final int REGISTER_FILES_UPDATE = 6;
    public static final int REGISTER_PROBE = 8;
    public static final int REGISTER_FILES2 = 13;
    /** {@code struct io_uring_rsrc_register}: u32 nr; u32 flags; u64 resv2; u64 data; u64 tags. */
    public static final long RSRC_REGISTER_SIZE = 32;
    public static final int RSRC_REGISTER_SPARSE = 1;
    /** {@code struct io_uring_files_update}: u32 offset; u32 resv; u64 fds (pointer to s32s). */
    public static final long FILES_UPDATE_SIZE = 16;
    public static final int REGISTER_RING_FDS = 20;
    public static final int UNREGISTER_RING_FDS = 21;
    public static final int REGISTER_PBUF_RING = 22;
    public static final int UNREGISTER_PBUF_RING = 23;
    /** {@code io_uring_buf_reg.flags}: the kernel uses a provided buffer in parts, read after read (Linux 6.12). */
    public static final short PBUF_RING_INC = 2;
    /** {@code struct io_uring_probe}: u8 last_op; u8 ops_len; u16 resv; u32 resv2[3]; then ops[] of 8 bytes (u8 op; u8 resv; u16 flags; u32 resv2). */
    public static final long PROBE_HEADER = 16, PROBE_OP_SIZE = 8;
    public static final int PROBE_OP_SUPPORTED = 1;
    /** {@code struct io_uring_rsrc_update}: u32 offset; u32 resv; u64 data. */
    public static final long RSRC_UPDATE_SIZE = 16;
    /** {@code struct io_uring_buf_reg}: u64 ring_addr; u32 ring_entries; u16 bgid; u16 flags; u64 resv[3]. */
    public static final long BUF_REG_SIZE = 40;
    /** {@code struct io_uring_buf}: u64 addr; u32 len; u16 bid; u16 resv; the ring's u16 tail overlays the first resv. */
    public static final long BUF_SIZE = 16, BUF_RING_TAIL = 14;

    public static final long OFF_SQ_RING = 0L, OFF_CQ_RING = 0x8000000L, OFF_SQES = 0x10000000L;
    public static final int PROT_READ_WRITE = 3;
    public static final int MAP_SHARED_POPULATE = 0x01 | 0x8000;
    public static final int MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20;
    private static final int MAP_FIXED = 0x10, MAP_NORESERVE = 0x4000;

    // Every io_uring syscall, and the mmap/munmap of its rings, through syscall(2)'s ordinary
    // (not critical) shape, Native.syscall: a pointer as its address (the memory is the ring's
    // own, alive across the call). None of them is short in every case: mmap and munmap wait for
    // the process's memory-map lock, and populate or give back megabytes (a buffer ring's, from
    // a Cleaner too); setup and register allocate the rings and the fixed-file table; enter
    // sleeps for completions. A critical downcall would hold every safepoint that long.
    private static final MethodHandle SYSCALL_SETUP = Native.syscall(Syscall.IO_URING_SETUP);
    private static final MethodHandle SYSCALL_REGISTER = Native.syscall(Syscall.IO_URING_REGISTER);
    private static final MethodHandle SYSCALL_MAP = Native.syscall(null);

    private Uring() {}

    /** {@code io_uring_setup(entries, params)}: the ring fd, or -errno. */
    public static int setup(int entries, MemorySegment params, MemorySegment errno) {
        try {
            return (int) Native.check((long) SYSCALL_SETUP.invokeExact(errno, SyscallNumbers.IO_URING_SETUP, (long) entries, params.address(),
                    0L, 0L, 0L, 0L), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    /**
     * {@code io_uring_enter(fd, toSubmit, minComplete, flags, arg, argSize)}: how many SQEs it
     * consumed, or -errno. May sleep (never a critical downcall: a waiting thread must not stall GC).
     */
    public static int enter(int fd, int toSubmit, int minComplete, int flags, MemorySegment arg, long argSize, MemorySegment errno) {
        try {
            return (int) EnterCall.handle.invokeExact(fd, toSubmit, minComplete, flags, arg, argSize, errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    // The loop's every round calls enter: kept out of its callers' compilations, as Unistd.readAt
    // is (the capture segment's slice is removed only when C2 compiles the call on its own).
    // Bound on first use: making a ring enters nothing.
    private static final class EnterCall {
        static MethodHandle handle = Native.callBoundary(MethodHandles.lookup(), Uring.class, "enterNow", MethodType.methodType(
                int.class, int.class, int.class, int.class, int.class, MemorySegment.class, long.class, MemorySegment.class));
    }

    private static final class Enter {
        static final MethodHandle SYSCALL = Native.syscall(Syscall.IO_URING_ENTER);
    }

    private static int enterNow(int fd, int toSubmit, int minComplete, int flags, MemorySegment arg, long argSize,
                                MemorySegment errno) throws Throwable {
        return (int) Native.check((long) Enter.SYSCALL.invokeExact(errno, SyscallNumbers.IO_URING_ENTER, (long) fd, (long) toSubmit,
                (long) minComplete, (long) flags, arg.address(), argSize), errno);
    }

    /** {@code io_uring_register(fd, opcode, arg, nrArgs)}: its result, or -errno. */
    public static int register(int fd, int opcode, MemorySegment arg, int nrArgs, MemorySegment errno) {
        try {
            return (int) Native.check((long) SYSCALL_REGISTER.invokeExact(errno, SyscallNumbers.IO_URING_REGISTER, (long) fd, (long) opcode,
                    arg.address(), (long) nrArgs, 0L, 0L), errno);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    /** {@code mmap(NULL, size, PROT_READ|PROT_WRITE, flags, fd, offset)}: the mapping (size bytes), or NULL with errno set. */
    public static MemorySegment mmap(long size, int flags, int fd, long offset, MemorySegment errno) {
        try {
            long at = (long) SYSCALL_MAP.invokeExact(errno, SyscallNumbers.MMAP, 0L, size, (long) PROT_READ_WRITE, (long) flags, (long) fd, offset);
            return at == -1L ? MemorySegment.NULL : MemorySegment.ofAddress(at).reinterpret(size);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    /** The errno a failed {@link #mmap} left. */
    public static int mmapErrno(MemorySegment errno) {
        return Native.errno(errno);
    }

    /**
     * Gives {@code mapping}'s memory back but keeps its addresses: an inaccessible reservation
     * ({@code mmap} over it with {@code PROT_NONE}, {@code MAP_FIXED|MAP_NORESERVE}) that nothing
     * else can be mapped into, so a late write by the kernel into it fails (EFAULT) instead of
     * landing in whatever would be mapped there next. For memory a ring's kernel requests may still
     * write when it is released off its owner thread. Any thread; a failure leaves the mapping as it was.
     */
    public static void retire(MemorySegment mapping) {
        try {
            long ignored = (long) SYSCALL_MAP.invokeExact(Native.threadErrno(), SyscallNumbers.MMAP, mapping.address(), mapping.byteSize(),
                    0L, (long) (MAP_PRIVATE_ANONYMOUS | MAP_FIXED | MAP_NORESERVE), -1L, 0L);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }

    /** {@code munmap}; any thread. */
    public static void munmap(MemorySegment mapping) {
        try {
            long ignored = (long) SYSCALL_MAP.invokeExact(Native.threadErrno(), SyscallNumbers.MUNMAP, mapping.address(), mapping.byteSize(),
                    0L, 0L, 0L, 0L);
        } catch (Throwable t) {
            throw Native.unreachable(t);
        }
    }
}
