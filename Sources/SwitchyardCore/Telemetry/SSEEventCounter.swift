/// Counts server-sent events in a byte stream as it passes: an event is a block of lines with
/// at least one `data:` line, ended by a blank line (`\n\n`, with or without `\r`). Comment-only
/// blocks (`: keep-alive`) are not events. Buffers may split anywhere, so the state carries over.
public struct SSEEventCounter: Sendable, Equatable {
    public private(set) var events = 0
    private var lineIsEmpty = true
    /// The block so far has a line starting with `d` (`data:`; no other SSE field starts so).
    private var blockHasData = false

    public init() {}

    public mutating func consume(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes {
            switch byte {
            case 0x0A:
                if lineIsEmpty {
                    if blockHasData { events += 1 }
                    blockHasData = false
                }
                lineIsEmpty = true
            case 0x0D:
                continue
            default:
                if lineIsEmpty && byte == UInt8(ascii: "d") { blockHasData = true }
                lineIsEmpty = false
            }
        }
    }
}
