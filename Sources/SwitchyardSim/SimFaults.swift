import Foundation
import SwitchyardCore

/// Faults a replica can be told to have, as flags at start or at runtime with
/// `POST /sim/faults` (a JSON object with any of these keys; `{}` clears them all):
///
/// | key | effect |
/// |---|---|
/// | `refuse_connections` (bool) | new connections are closed as soon as they are accepted |
/// | `health_status` (int) | `GET /health` answers this status (e.g. 503) |
/// | `error_status` (int) | generation requests answer this status with vLLM's error body (e.g. 500) |
/// | `stall_first_token_ms` (number) | each generation waits this long before the engine sees it |
/// | `close_after_events` (int) | a stream's connection is closed after this many SSE events |
/// | `slow_factor` (number) | the engine runs this many times slower (2 = half speed) |
public struct SimFaults: Sendable, Equatable {
    public var refuseConnections = false
    public var healthStatus: Int?
    public var errorStatus: Int?
    public var stallFirstTokenMs: Double = 0
    public var closeAfterEvents: Int?
    public var slowFactor: Double = 1

    public init() {}

    /// Parses `POST /sim/faults`; unknown keys and wrong types are errors naming the key.
    public static func parse(_ body: [UInt8]) -> Result<SimFaults, ConfigError> {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else {
            return .failure(ConfigError("the body must be a JSON object"))
        }
        var faults = SimFaults()
        for (key, value) in object {
            switch (key, value) {
            case ("refuse_connections", let flag as Bool): faults.refuseConnections = flag
            case ("health_status", let status as Int) where (100...599).contains(status): faults.healthStatus = status
            case ("error_status", let status as Int) where (400...599).contains(status): faults.errorStatus = status
            case ("stall_first_token_ms", let ms as Double) where ms >= 0: faults.stallFirstTokenMs = ms
            case ("close_after_events", let count as Int) where count >= 0: faults.closeAfterEvents = count
            case ("slow_factor", let factor as Double) where factor > 0: faults.slowFactor = factor
            default: return .failure(ConfigError("\(key): unknown fault or invalid value"))
            }
        }
        return .success(faults)
    }

    var json: String {
        func optional(_ value: Int?) -> String { value.map(String.init) ?? "null" }
        return "{\"refuse_connections\":\(refuseConnections),\"health_status\":\(optional(healthStatus)),"
            + "\"error_status\":\(optional(errorStatus)),\"stall_first_token_ms\":\(stallFirstTokenMs),"
            + "\"close_after_events\":\(optional(closeAfterEvents)),\"slow_factor\":\(slowFactor)}"
    }
}
