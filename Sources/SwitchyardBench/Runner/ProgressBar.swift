import Foundation
import NIOConcurrencyHelpers

/// A one-line progress display on stderr (done/total, rate, elapsed), like the tqdm bar of
/// `vllm bench serve`. Silent when stderr is not a terminal or when disabled.
public final class ProgressBar: Sendable {
    private struct State {
        var done = 0
        var lastDraw: UInt64 = 0
    }

    private let total: Int
    private let enabled: Bool
    private let started = DispatchTime.now().uptimeNanoseconds
    private let state = NIOLockedValueBox(State())

    public init(total: Int, disabled: Bool) {
        self.total = total
        self.enabled = !disabled && isatty(STDERR_FILENO) == 1
    }

    public func tick() {
        guard enabled else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        let line: String? = state.withLockedValue { state in
            state.done += 1
            guard state.done == total || now - state.lastDraw > 100_000_000 else { return nil }
            state.lastDraw = now
            return render(done: state.done, now: now)
        }
        if let line { FileHandle.standardError.write(Data(line.utf8)) }
    }

    public func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }

    private func render(done: Int, now: UInt64) -> String {
        let elapsed = Double(now - started) / 1e9
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let width = 30
        let filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "█", count: filled) + String(repeating: " ", count: width - filled)
        let percent = total > 0 ? 100 * done / total : 100
        let minutes = Int(elapsed) / 60
        let seconds = Int(elapsed) % 60
        return String(
            format: "\r%3d%%|%@| %d/%d [%02d:%02d, %.2f req/s]", percent, bar, done, total, minutes, seconds, rate)
    }
}
