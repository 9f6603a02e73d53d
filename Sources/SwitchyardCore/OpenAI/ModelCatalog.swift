import Foundation

/// One model card from a backend's `/v1/models`, kept whole so the union served to clients has
/// every field vLLM sent (`root`, `max_model_len`, `permission`, ...).
public struct ModelCard: Sendable, Equatable {
    public var id: String
    public var maxModelLen: Int?
    /// The card as JSON, re-encoded with sorted keys.
    public var json: String

    public init(id: String, maxModelLen: Int?, json: String) {
        self.id = id
        self.maxModelLen = maxModelLen
        self.json = json
    }
}

public enum ModelListParser {
    /// Parses a `/v1/models` answer. Throws a message fit for a log line.
    public static func parse(_ body: [UInt8]) throws(ConfigError) -> [ModelCard] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            let data = object["data"] as? [[String: Any]]
        else {
            throw ConfigError("the /v1/models answer is not a JSON object with a \"data\" list")
        }
        return try data.map { (card: [String: Any]) throws(ConfigError) -> ModelCard in
            guard let id = card["id"] as? String, !id.isEmpty else {
                throw ConfigError("a /v1/models entry has no \"id\"")
            }
            guard let encoded = try? JSONSerialization.data(withJSONObject: card, options: [.sortedKeys]) else {
                throw ConfigError("a /v1/models entry could not be re-encoded")
            }
            return ModelCard(
                id: id, maxModelLen: (card["max_model_len"] as? NSNumber)?.intValue,
                json: String(decoding: encoded, as: UTF8.self))
        }
    }
}

/// The union of the backends' model lists, as served on the proxy's `/v1/models`.
public enum ModelCatalog {
    /// One card per model id, in the order first seen. When backends disagree about a model's
    /// `max_model_len` (a 64K and a 128K replica under one name), the card with the largest
    /// context is shown: the proxy can serve requests that long on some backend.
    public static func union(_ lists: [[ModelCard]]) -> [ModelCard] {
        var order: [String] = []
        var chosen: [String: ModelCard] = [:]
        for card in lists.joined() {
            if let existing = chosen[card.id] {
                if (card.maxModelLen ?? 0) > (existing.maxModelLen ?? 0) { chosen[card.id] = card }
            } else {
                order.append(card.id)
                chosen[card.id] = card
            }
        }
        return order.map { chosen[$0]! }
    }

    public static func listJSON(_ cards: [ModelCard]) -> String {
        "{\"object\":\"list\",\"data\":[" + cards.map(\.json).joined(separator: ",") + "]}"
    }
}
