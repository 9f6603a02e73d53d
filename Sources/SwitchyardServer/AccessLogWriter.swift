import Dispatch
import Logging
import NIOConcurrencyHelpers
import SwitchyardCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes access-log lines to stdout or a file off the event loops: each line is handed to a
/// serial queue, so a slow disk or a blocked pipe never stalls a relay. Lines waiting beyond
/// `maxPendingBytes` are dropped and counted rather than let memory grow.
final class AccessLogWriter: Sendable {
    private let descriptor: Int32
    private let ownsDescriptor: Bool
    private let queue = DispatchQueue(label: "switchyard.access-log")
    private let pending = NIOLockedValueBox((bytes: 0, dropped: 0))
    private let maxPendingBytes = 8 * 1024 * 1024

    /// Nil for `off`; throws a readable message when the file cannot be opened.
    static func make(_ target: AccessLogTarget) throws -> AccessLogWriter? {
        switch target {
        case .off: return nil
        case .stdout: return AccessLogWriter(descriptor: 1, owns: false)
        case .file(let path):
            let fd = openForAppend(path)
            guard fd >= 0 else {
                throw AccessLogError(message: "cannot open access log \(path): \(String(cString: strerror(errno)))")
            }
            return AccessLogWriter(descriptor: fd, owns: true)
        }
    }

    private init(descriptor: Int32, owns: Bool) {
        self.descriptor = descriptor
        self.ownsDescriptor = owns
    }

    deinit {
        if ownsDescriptor { _ = close(descriptor) }
    }

    /// Lines dropped because the writer fell behind.
    var dropped: Int { pending.withLockedValue { $0.dropped } }

    func write(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.append(0x0A)
        let size = bytes.count
        let accepted = pending.withLockedValue { state in
            guard state.bytes + size <= maxPendingBytes else {
                state.dropped += 1
                return false
            }
            state.bytes += size
            return true
        }
        guard accepted else { return }
        let line = bytes
        queue.async { [descriptor, pending] in
            line.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = writeBytes(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                    if written < 0 && errno == EINTR { continue }
                    guard written > 0 else { break }
                    offset += written
                }
            }
            pending.withLockedValue { $0.bytes -= size }
        }
    }

    /// Waits until every accepted line is written (shutdown and tests).
    func flush() {
        queue.sync {}
    }
}

struct AccessLogError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

// libc, under names the writer's own methods do not shadow.
private func openForAppend(_ path: String) -> Int32 {
    open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
}

private func writeBytes(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}
