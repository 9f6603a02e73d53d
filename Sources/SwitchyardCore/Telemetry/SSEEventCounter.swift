/// Counts server-sent events in a byte stream as it passes: an event ends at a blank line
/// (`\n\n`, with or without `\r`). Buffers may split anywhere, so the state carries over.
public struct SSEEventCounter: Sendable, Equatable {
    public private(set) var events = 0
    private var lineIsEmpty = true
    private var sawContent = false

    public init() {}

    public mutating func consume(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes {
            switch byte {
            case 0x0A:
                if lineIsEmpty {
                    if sawContent { events += 1 }
                    sawContent = false
                }
                lineIsEmpty = true
            case 0x0D:
                continue
            default:
                lineIsEmpty = false
                sawContent = true
            }
        }
    }
}
