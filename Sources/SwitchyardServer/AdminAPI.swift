import Foundation
import SwitchyardCore

/// The operator API's routes, apart from the listener that carries them:
///
/// - `GET /admin/backends`: every backend with its live state.
/// - `POST /admin/backends` `{"name","url","max_concurrent","max_inflight_tokens","priority_scheduling","api_key"}`: add one.
/// - `DELETE /admin/backends/NAME`: remove it (requests in flight finish).
/// - `POST /admin/backends/NAME/drain`, `.../undrain`: take it out of rotation and back.
/// - `POST /admin/reload`: reload the config file, as SIGHUP does.
///
/// Every call needs `Authorization: Bearer <admin.token>`.
struct AdminAPI: Sendable {
    struct Answer: Equatable {
        var status: Int
        var json: String
    }

    let proxy: ProxyState
    let fleet: FleetControl
    let reload: @Sendable () -> Result<[String], ConfigError>
    /// SHA-256 of the token, compared in constant time.
    let tokenHash: [UInt8]

    init(
        proxy: ProxyState, fleet: FleetControl, token: String,
        reload: @escaping @Sendable () -> Result<[String], ConfigError>
    ) {
        self.proxy = proxy
        self.fleet = fleet
        self.reload = reload
        self.tokenHash = APIKey.hash(token)
    }

    func handle(method: String, path: String, authorization: String?, body: [UInt8]) -> Answer {
        guard let authorization, authorization.lowercased().hasPrefix("bearer "),
            AuthConfig.constantTimeEqual(APIKey.hash(String(authorization.dropFirst(7))), tokenHash)
        else { return Self.error(401, "The admin API needs `Authorization: Bearer <admin.token>`.") }
        let parts = path.split(separator: "/").map(String.init)
        switch (method, parts.count > 1 ? Array(parts.prefix(2)) : parts) {
        case ("GET", ["admin", "backends"]) where parts.count == 2:
            return Answer(status: 200, json: backendsJSON())
        case ("POST", ["admin", "backends"]) where parts.count == 2:
            return add(body)
        case ("DELETE", ["admin", "backends"]) where parts.count == 3:
            return act(parts[2]) { name throws(FleetControl.Failure) in try fleet.remove(name) }
        case ("POST", ["admin", "backends"]) where parts.count == 4 && parts[3] == "drain":
            return act(parts[2]) { name throws(FleetControl.Failure) in try fleet.drain(name) }
        case ("POST", ["admin", "backends"]) where parts.count == 4 && parts[3] == "undrain":
            return act(parts[2]) { name throws(FleetControl.Failure) in try fleet.undrain(name) }
        case ("POST", ["admin", "reload"]) where parts.count == 2:
            switch reload() {
            case .success(let changes):
                let list = changes.map { JSONString.quoted($0) }.joined(separator: ",")
                return Answer(status: 200, json: "{\"reloaded\":true,\"changes\":[\(list)]}")
            case .failure(let error):
                return Self.error(400, "The config was not reloaded (the old one stays in force): \(error.message)")
            }
        default:
            return Self.error(404, "No admin route \(method) \(path).")
        }
    }

    private func act(_ encodedName: String, _ action: (String) throws(FleetControl.Failure) -> Void) -> Answer {
        let name = encodedName.removingPercentEncoding ?? encodedName
        do {
            try action(name)
            return Answer(status: 200, json: backendsJSON(only: name))
        } catch {
            return Self.error(error.status, "\(error)")
        }
    }

    private func add(_ body: [UInt8]) -> Answer {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            return Self.error(400, "The body must be a JSON object with at least `url`.")
        }
        let known: Set<String> = [
            "name", "url", "max_concurrent", "max_inflight_tokens", "priority_scheduling", "api_key",
        ]
        if let unknown = object.keys.first(where: { !known.contains($0) }) {
            return Self.error(400, "Unknown field `\(unknown)` (known: \(known.sorted().joined(separator: ", "))).")
        }
        guard let urlText = object["url"] as? String else { return Self.error(400, "`url` is required.") }
        let url: BackendURL
        do { url = try BackendURL(parsing: urlText) } catch { return Self.error(400, "url: \(error.message)") }
        var backend = BackendConfig(name: (object["name"] as? String) ?? "\(url.host):\(url.port)", url: url)
        if let value = object["max_concurrent"] {
            guard let number = value as? Int, number >= 1 else {
                return Self.error(400, "`max_concurrent` must be a whole number ≥ 1.")
            }
            backend.maxConcurrent = number
        }
        if let value = object["max_inflight_tokens"] {
            guard let number = value as? Int, number >= 1 else {
                return Self.error(400, "`max_inflight_tokens` must be a whole number ≥ 1.")
            }
            backend.maxInFlightTokens = number
        }
        if let value = object["priority_scheduling"] {
            guard let flag = value as? Bool else { return Self.error(400, "`priority_scheduling` must be a boolean.") }
            backend.priorityScheduling = flag
        }
        if let value = object["api_key"] {
            guard let key = value as? String, !key.isEmpty else {
                return Self.error(400, "`api_key` must be a string.")
            }
            backend.apiKey = key
        }
        do {
            _ = try fleet.add(backend)
            return Answer(status: 201, json: backendsJSON(only: backend.name))
        } catch {
            return Self.error(error.status, "\(error)")
        }
    }

    /// Backends as JSON: `{"backends":[...]}`, or one backend's object.
    func backendsJSON(only name: String? = nil) -> String {
        let now = proxy.now
        let backends = proxy.withTable { $0.backends }
        let entries = backends.filter { backend in
            if let name { return backend.name == name }
            return backend.isListed
        }.map { backend in
            var fields =
                StatusPage.stateFields(backend) + [
                    "\"url\":\(JSONString.quoted("\(backend.url)"))", "\"draining\":\(backend.draining)",
                    "\"models\":[\(backend.models.map { JSONString.quoted($0.id) }.joined(separator: ","))]",
                ]
            if let until = backend.ejectedUntil {
                fields.append("\"ejected_for_seconds\":\(max(0, (until - now).inSeconds))")
            }
            if let error = backend.lastError { fields.append("\"last_error\":\(JSONString.quoted(error))") }
            return "{" + fields.joined(separator: ",") + "}"
        }
        if name != nil, let one = entries.last { return one }
        return "{\"backends\":[\(entries.joined(separator: ","))]}"
    }

    static func error(_ status: Int, _ message: String) -> Answer {
        let error = OpenAIError(status: status, message: message, reason: "admin")
        return Answer(status: status, json: error.jsonBody)
    }
}
