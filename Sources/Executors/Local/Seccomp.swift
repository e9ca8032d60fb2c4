import Foundation

/// The seccomp filter bubblewrap installs before a job's first program runs (`--seccomp FD`): a deny list in the
/// spirit of Docker's default profile. What a job could use only to attack the kernel or to leave its sandbox is
/// answered EPERM: mounting and namespaces (`mount`, `unshare`, `setns`, namespace flags of `clone`), tracing other
/// processes, kernel modules and kexec, BPF, perf events, keyrings, io_uring, userfaultfd, file handles, clock and
/// swap changes. Everything an ordinary program does (Python, PyTorch, simulators) stays allowed. Calls made through
/// another ABI than the host's (32-bit `int 0x80`, x32) are refused outright, so the list cannot be sidestepped.
///
/// The program is classic BPF, written here rather than through libseccomp so that the server has no C dependency.
/// Only x86-64 has a table; elsewhere `program()` is nil and jobs run without the filter (the server says so once).
enum Seccomp {
    /// `struct sock_filter`: what a BPF instruction is.
    struct Instruction: Equatable {
        var code: UInt16
        var jumpIfTrue: UInt8
        var jumpIfFalse: UInt8
        var value: UInt32
    }

    static let loadWord: UInt16 = 0x20 // BPF_LD | BPF_W | BPF_ABS
    static let jumpIfEqual: UInt16 = 0x15 // BPF_JMP | BPF_JEQ | BPF_K
    static let jumpIfAtLeast: UInt16 = 0x35 // BPF_JMP | BPF_JGE | BPF_K
    static let jumpIfAnyBit: UInt16 = 0x45 // BPF_JMP | BPF_JSET | BPF_K
    static let returnValue: UInt16 = 0x06 // BPF_RET | BPF_K

    static let allow: UInt32 = 0x7fff_0000
    static let killProcess: UInt32 = 0x8000_0000
    static func error(_ number: Int32) -> UInt32 { 0x0005_0000 | UInt32(number) }

    /// Offsets in `struct seccomp_data`.
    static let numberOffset: UInt32 = 0
    static let architectureOffset: UInt32 = 4
    static let firstArgumentOffset: UInt32 = 16

    static let x86_64Architecture: UInt32 = 0xC000_003E
    /// Syscall numbers of the x32 ABI have this bit set.
    static let x32Bit: UInt32 = 0x4000_0000
    /// CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET.
    static let namespaceFlags: UInt32 = 0x7E02_0000

    /// Denied calls on x86-64 (answered EPERM), by number.
    static let deniedX86_64: [(name: String, number: UInt32)] = [
        ("syslog", 103), ("ptrace", 101), ("process_vm_readv", 310), ("process_vm_writev", 311), ("kcmp", 312),
        ("mount", 165), ("umount2", 166), ("pivot_root", 155), ("swapon", 167), ("swapoff", 168), ("reboot", 169),
        ("iopl", 172), ("ioperm", 173), ("init_module", 175), ("delete_module", 176), ("finit_module", 313),
        ("kexec_load", 246), ("kexec_file_load", 320), ("acct", 163), ("settimeofday", 164), ("clock_settime", 227),
        ("clock_adjtime", 305), ("adjtimex", 159), ("quotactl", 179), ("lookup_dcookie", 212), ("add_key", 248),
        ("request_key", 249), ("keyctl", 250), ("unshare", 272), ("setns", 308), ("bpf", 321), ("perf_event_open", 298),
        ("userfaultfd", 323), ("name_to_handle_at", 303), ("open_by_handle_at", 304), ("io_uring_setup", 425),
        ("io_uring_enter", 426), ("io_uring_register", 427), ("open_tree", 428), ("move_mount", 429), ("fsopen", 430),
        ("fsconfig", 431), ("fsmount", 432), ("fspick", 433), ("pidfd_getfd", 438), ("process_madvise", 440), ("mount_setattr", 442),
        ("open_tree_attr", 467),
    ]
    /// Calls newer than the table (Linux 6.17's are the last it knows) answer ENOSYS, as on an older kernel, so
    /// the list does not fall behind the kernels it runs on; programs fall back as they would there.
    static let firstUnknownX86_64: UInt32 = 470
    static let cloneX86_64: UInt32 = 56
    /// Its flags are out of a filter's reach (they are in memory): ENOSYS makes the C library fall back to `clone`.
    static let clone3X86_64: UInt32 = 435

    /// The filter for this machine's architecture, nil where aitip has no table for it.
    static func program() -> [Instruction]? {
        #if arch(x86_64)
            return x86_64Program()
        #else
            return nil
        #endif
    }

    static func x86_64Program() -> [Instruction] {
        var program: [Instruction] = [
            Instruction(code: loadWord, jumpIfTrue: 0, jumpIfFalse: 0, value: architectureOffset),
            Instruction(code: jumpIfEqual, jumpIfTrue: 1, jumpIfFalse: 0, value: x86_64Architecture),
            Instruction(code: returnValue, jumpIfTrue: 0, jumpIfFalse: 0, value: killProcess),
            Instruction(code: loadWord, jumpIfTrue: 0, jumpIfFalse: 0, value: numberOffset),
            Instruction(code: jumpIfAtLeast, jumpIfTrue: 0, jumpIfFalse: 1, value: x32Bit),
            Instruction(code: returnValue, jumpIfTrue: 0, jumpIfFalse: 0, value: error(ENOSYS)),
            Instruction(code: jumpIfEqual, jumpIfTrue: 0, jumpIfFalse: 1, value: clone3X86_64),
            Instruction(code: returnValue, jumpIfTrue: 0, jumpIfFalse: 0, value: error(ENOSYS)),
            Instruction(code: jumpIfAtLeast, jumpIfTrue: 0, jumpIfFalse: 1, value: firstUnknownX86_64),
            Instruction(code: returnValue, jumpIfTrue: 0, jumpIfFalse: 0, value: error(ENOSYS)),
        ]
        for call in deniedX86_64 {
            program.append(Instruction(code: jumpIfEqual, jumpIfTrue: 0, jumpIfFalse: 1, value: call.number))
            program.append(Instruction(code: returnValue, jumpIfTrue: 0, jumpIfFalse: 0, value: error(EPERM)))
        }
        program += [
            // clone: allowed unless it asks for a namespace.
            Instruction(code: jumpIfEqual, jumpIfTrue: 0, jumpIfFalse: 3, value: cloneX86_64),
            Instruction(code: loadWord, jumpIfTrue: 0, jumpIfFalse: 0, value: firstArgumentOffset),
            Instruction(code: jumpIfAnyBit, jumpIfTrue: 0, jumpIfFalse: 1, value: namespaceFlags),
            Instruction(code: returnValue, jumpIfTrue: 0, jumpIfFalse: 0, value: error(EPERM)),
            Instruction(code: returnValue, jumpIfTrue: 0, jumpIfFalse: 0, value: allow),
        ]
        return program
    }

    /// The program as the kernel reads it: 8 bytes per instruction, in the machine's byte order (little-endian on
    /// every architecture with a table).
    static func bytes(_ program: [Instruction]) -> Data {
        var data = Data(capacity: program.count * 8)
        for instruction in program {
            withUnsafeBytes(of: instruction.code.littleEndian) { data.append(contentsOf: $0) }
            data.append(instruction.jumpIfTrue)
            data.append(instruction.jumpIfFalse)
            withUnsafeBytes(of: instruction.value.littleEndian) { data.append(contentsOf: $0) }
        }
        return data
    }
}
