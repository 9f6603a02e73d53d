import Foundation
import Testing

@testable import SwitchyardCore

private func parse(_ text: String) throws(ConfigError) -> [ModelCard] {
    try ModelListParser.parse(Array(text.utf8))
}

@Suite("ModelListParser and ModelCatalog")
struct ModelCatalogTests {
    /// A vLLM 0.10 `/v1/models` answer: a base model and a LoRA adapter on it.
    static let vllmModels = #"""
        {"object":"list","data":[
          {"id":"meta-llama/Llama-3.1-8B-Instruct","object":"model","created":1732000000,"owned_by":"vllm",
           "root":"/models/llama-3.1-8b","parent":null,"max_model_len":131072,
           "permission":[{"id":"modelperm-1b2c","object":"model_permission","created":1732000000,
             "allow_create_engine":false,"allow_sampling":true,"allow_logprobs":true,"allow_search_indices":false,
             "allow_view":true,"allow_fine_tuning":false,"organization":"*","group":null,"is_blocking":false}]},
          {"id":"sql-lora","object":"model","created":1732000001,"owned_by":"vllm","root":"/adapters/sql",
           "parent":"meta-llama/Llama-3.1-8B-Instruct","max_model_len":null,"permission":[]}
        ]}
        """#

    @Test("parses vLLM's /v1/models, keeping every field")
    func parsesVLLM() throws {
        let cards = try parse(Self.vllmModels)
        #expect(cards.map(\.id) == ["meta-llama/Llama-3.1-8B-Instruct", "sql-lora"])
        #expect(cards.map(\.maxModelLen) == [131072, nil])

        let base = try #require(jsonObject(cards[0].json))
        #expect(base["root"] as? String == "/models/llama-3.1-8b")
        #expect((base["max_model_len"] as? NSNumber)?.intValue == 131072)
        #expect((base["created"] as? NSNumber)?.intValue == 1_732_000_000)
        #expect(base["owned_by"] as? String == "vllm")
        #expect(base["parent"] is NSNull)
        let permission = try #require(base["permission"] as? [[String: Any]])
        #expect(permission.first?["id"] as? String == "modelperm-1b2c")

        let lora = try #require(jsonObject(cards[1].json))
        #expect(lora["parent"] as? String == "meta-llama/Llama-3.1-8B-Instruct")
        #expect(lora["root"] as? String == "/adapters/sql")
    }

    @Test("re-encodes each card with sorted keys")
    func sortedKeys() throws {
        let cards = try parse(#"{"data":[{"z":1,"id":"m","a":2}]}"#)
        #expect(cards == [ModelCard(id: "m", maxModelLen: nil, json: #"{"a":2,"id":"m","z":1}"#)])
    }

    @Test("an empty data list is no models")
    func emptyList() throws {
        #expect(try parse(#"{"object":"list","data":[]}"#).isEmpty)
    }

    @Test(
        "rejects answers that are not a model list",
        arguments: [
            "", "not json", "<html>502 Bad Gateway</html>", "[]", "{}", #"{"data":{}}"#, #"{"data":"m"}"#,
            #"{"data":null}"#, #"{"data":["m"]}"#, #"{"object":"list","data":[{"id":"a"}"#,
        ])
    func rejectsNonList(text: String) {
        #expect(throws: ConfigError("the /v1/models answer is not a JSON object with a \"data\" list")) {
            _ = try parse(text)
        }
    }

    @Test(
        "rejects entries without a usable id",
        arguments: [
            #"{"data":[{"object":"model"}]}"#, #"{"data":[{"id":""}]}"#, #"{"data":[{"id":5}]}"#,
            #"{"data":[{"id":null}]}"#, #"{"data":[{"id":"ok"},{"root":"x"}]}"#,
        ])
    func rejectsMissingID(text: String) {
        #expect(throws: ConfigError("a /v1/models entry has no \"id\"")) { _ = try parse(text) }
    }

    @Test("a non-numeric max_model_len is unknown")
    func nonNumericMaxModelLen() throws {
        #expect(try parse(#"{"data":[{"id":"m","max_model_len":"4096"}]}"#).first?.maxModelLen == nil)
    }

    @Test("union: one card per id, first-seen order")
    func unionOrder() {
        let a = [card("m1"), card("m2")]
        let b = [card("m3"), card("m1"), card("m4")]
        let c = [card("m2"), card("m5")]
        #expect(ModelCatalog.union([a, b, c]).map(\.id) == ["m1", "m2", "m3", "m4", "m5"])
        #expect(ModelCatalog.union([]).isEmpty)
        #expect(ModelCatalog.union([[], []]).isEmpty)
    }

    @Test(
        "union: the card with the larger max_model_len wins; ties and unknowns keep the first",
        arguments: [
            ([Int?](arrayLiteral: 65536, 131072), "second"),
            ([131072, 65536], "first"),
            ([65536, 65536], "first"),
            ([nil, 4096], "second"),
            ([4096, nil], "first"),
            ([nil, nil], "first"),
        ] as [([Int?], String)])
    func unionPicksLargestContext(lengths: [Int?], winner: String) {
        let first = card("m", maxModelLen: lengths[0], tag: "first")
        let second = card("m", maxModelLen: lengths[1], tag: "second")
        let union = ModelCatalog.union([[card("other")], [first], [second]])
        #expect(union.map(\.id) == ["other", "m"])
        #expect(union[1] == (winner == "first" ? first : second))
    }

    @Test("union keeps the largest of three across lists, wherever it appears")
    func unionThreeWay() {
        let union = ModelCatalog.union([
            [card("m", maxModelLen: 8192, tag: "a")], [card("m", maxModelLen: 32768, tag: "b")],
            [card("m", maxModelLen: 16384, tag: "c")],
        ])
        #expect(union == [card("m", maxModelLen: 32768, tag: "b")])
    }

    @Test("listJSON is a valid OpenAI list")
    func listJSON() throws {
        let cards = try parse(Self.vllmModels) + [card("x\"y", maxModelLen: 1)]
        let text = ModelCatalog.listJSON(cards)
        let object = try #require(jsonObject(text))
        #expect(object["object"] as? String == "list")
        let data = try #require(object["data"] as? [[String: Any]])
        #expect(data.compactMap { $0["id"] as? String } == ["meta-llama/Llama-3.1-8B-Instruct", "sql-lora", "x\"y"])
        #expect(data[0]["root"] as? String == "/models/llama-3.1-8b")

        #expect(ModelCatalog.listJSON([]) == #"{"object":"list","data":[]}"#)
        #expect(jsonObject(ModelCatalog.listJSON([]))?["data"] as? [Any] != nil)
    }

    @Test("parse → union → listJSON → parse is stable")
    func endToEnd() throws {
        let a = try parse(#"{"data":[{"id":"m","max_model_len":4096,"root":"a"}]}"#)
        let b = try parse(#"{"data":[{"id":"m","max_model_len":8192,"root":"b"},{"id":"n"}]}"#)
        let reparsed = try ModelListParser.parse(Array(ModelCatalog.listJSON(ModelCatalog.union([a, b])).utf8))
        #expect(reparsed.map(\.id) == ["m", "n"])
        #expect(reparsed.map(\.maxModelLen) == [8192, nil])
        #expect(try #require(jsonObject(reparsed[0].json))["root"] as? String == "b")
    }
}
