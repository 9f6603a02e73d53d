import Foundation
import Testing
import Yams

@testable import SwitchyardCore

/// The repository root: this file is Tests/SwitchyardCoreTests/DashboardTests.swift.
private let repoRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()
    .deletingLastPathComponent()
    .deletingLastPathComponent()

private let dashboardPath = "config/grafana/switchyard.json"
private let prometheusConfigPath = "config/prometheus.yml"

/// Catalog metrics deliberately left off the dashboard (name, with the reason in a comment).
/// Empty: every metric Switchyard exports has a panel.
private let notOnDashboard: Set<String> = []

/// One PromQL expression of the dashboard and where it is.
private struct Query {
    var location: String
    var expr: String
}

private func loadDashboard() throws -> [String: Any] {
    let data = try Data(contentsOf: repoRoot.appendingPathComponent(dashboardPath))
    let object = try JSONSerialization.jsonObject(with: data)
    return try #require(object as? [String: Any], "\(dashboardPath) is not a JSON object")
}

/// Every panel, depth first; rows keep their panels under `panels` when collapsed.
private func allPanels(of dashboard: [String: Any]) -> [[String: Any]] {
    var result: [[String: Any]] = []
    func visit(_ panels: [[String: Any]]) {
        for panel in panels {
            result.append(panel)
            visit(panel["panels"] as? [[String: Any]] ?? [])
        }
    }
    visit(dashboard["panels"] as? [[String: Any]] ?? [])
    return result
}

private func title(of panel: [String: Any]) -> String {
    "panel \"\(panel["title"] as? String ?? "?")\" (id \(panel["id"].map { "\($0)" } ?? "?"))"
}

/// The `expr` of every target of every panel. A target without one is returned with an empty expression,
/// so that it fails the "names a metric" check.
private func panelQueries(of dashboard: [String: Any]) -> [Query] {
    allPanels(of: dashboard).flatMap { panel in
        (panel["targets"] as? [[String: Any]] ?? []).map { target in
            Query(location: title(of: panel), expr: target["expr"] as? String ?? "")
        }
    }
}

/// The queries of the template variables (`label_values(...)`).
private func variableQueries(of dashboard: [String: Any]) -> [Query] {
    let variables = (dashboard["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? []
    return variables.filter { $0["type"] as? String == "query" }.map { variable in
        Query(
            location: "variable $\(variable["name"] as? String ?? "?")", expr: variable["definition"] as? String ?? "")
    }
}

/// The metric series an expression reads: Switchyard's own, and vLLM's (`vllm:` names, from the backends).
private func metricNames(in expr: String) -> [String] {
    expr.matches(of: /switchyard_[a-z0-9_]+|vllm:[a-z0-9_:]+/).map { String($0.output) }
}

@Suite("Grafana dashboard and Prometheus config")
struct DashboardTests {
    @Test("the dashboard is a JSON object with a title and panels with unique ids")
    func dashboardParses() throws {
        let dashboard = try loadDashboard()
        #expect((dashboard["title"] as? String)?.isEmpty == false)
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        #expect(!panels.isEmpty)
        let ids = allPanels(of: dashboard).compactMap { $0["id"] as? Int }
        #expect(ids.count == allPanels(of: dashboard).count, "every panel has an integer id")
        #expect(Set(ids).count == ids.count, "panel ids are unique: \(ids.sorted())")
    }

    @Test("every panel and variable reads the data source variable ${DS_PROMETHEUS}")
    func dataSource() throws {
        let dashboard = try loadDashboard()
        let variables = (dashboard["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? []
        #expect(
            variables.contains {
                $0["type"] as? String == "datasource" && $0["name"] as? String == "DS_PROMETHEUS"
                    && $0["query"] as? String == "prometheus"
            })
        var offenders: [String] = []
        for panel in allPanels(of: dashboard) where panel["type"] as? String != "row" {
            let sources = [panel["datasource"]] + (panel["targets"] as? [[String: Any]] ?? []).map { $0["datasource"] }
            for source in sources where (source as? [String: Any])?["uid"] as? String != "${DS_PROMETHEUS}" {
                offenders.append("\(title(of: panel)): \(source ?? "no datasource")")
            }
        }
        #expect(offenders.isEmpty, "hard-coded data sources:\n\(offenders.joined(separator: "\n"))")
    }

    @Test("every expression reads only series Switchyard exports (or vLLM's own)")
    func expressionsUseCatalogMetrics() throws {
        let dashboard = try loadDashboard()
        let queries = panelQueries(of: dashboard) + variableQueries(of: dashboard)
        #expect(queries.count > 20)
        let known = MetricCatalog.seriesNames
        var offenders: [String] = []
        for query in queries {
            let names = metricNames(in: query.expr)
            if names.isEmpty {
                offenders.append("\(query.location): no metric in \"\(query.expr)\"")
            }
            for name in names where !known.contains(name) && !name.hasPrefix("vllm:") {
                offenders.append("\(query.location): unknown series \(name)")
            }
        }
        #expect(offenders.isEmpty, "\(offenders.count) bad expressions:\n\(offenders.joined(separator: "\n"))")
    }

    @Test("the dashboard covers the catalog: every metric has a panel, every histogram its buckets")
    func dashboardCoversCatalog() throws {
        let used = Set(panelQueries(of: try loadDashboard()).flatMap { metricNames(in: $0.expr) })
        let catalogNames = Set(MetricCatalog.all.map(\.name))
        #expect(
            notOnDashboard.isSubset(of: catalogNames), "stale exclusions: \(notOnDashboard.subtracting(catalogNames))")
        var missing: [String] = []
        for metric in MetricCatalog.all where !notOnDashboard.contains(metric.name) {
            // A histogram is shown as quantiles or a heatmap, both of which read its buckets.
            let series = metric.kind == .histogram ? metric.name + "_bucket" : metric.name
            if !used.contains(series) {
                missing.append("\(metric.kind.rawValue) \(metric.name) (no panel reads \(series))")
            }
        }
        #expect(missing.isEmpty, "metrics missing from the dashboard:\n\(missing.joined(separator: "\n"))")
    }

    @Test("heatmaps read histogram buckets with format heatmap")
    func heatmaps() throws {
        let heatmaps = allPanels(of: try loadDashboard()).filter { $0["type"] as? String == "heatmap" }
        #expect(heatmaps.count >= 3)
        for panel in heatmaps {
            let targets = panel["targets"] as? [[String: Any]] ?? []
            #expect(!targets.isEmpty, "\(title(of: panel)) has no targets")
            for target in targets {
                let expr = target["expr"] as? String ?? ""
                #expect(target["format"] as? String == "heatmap", "\(title(of: panel))")
                #expect(metricNames(in: expr).allSatisfy { $0.hasSuffix("_bucket") }, "\(title(of: panel)): \(expr)")
                #expect(expr.contains("by (le)"), "\(title(of: panel)): \(expr)")
            }
        }
    }

    @Test("config/prometheus.yml scrapes Switchyard and the backends at /metrics")
    func prometheusConfig() throws {
        let text = try String(contentsOf: repoRoot.appendingPathComponent(prometheusConfigPath), encoding: .utf8)
        let config = try #require(try Yams.load(yaml: text) as? [String: Any])
        #expect((config["global"] as? [String: Any])?["scrape_interval"] as? String == "5s")
        let jobs = try #require(config["scrape_configs"] as? [[String: Any]])
        func targets(_ job: [String: Any]) -> [String] {
            (job["static_configs"] as? [[String: Any]] ?? []).flatMap { $0["targets"] as? [String] ?? [] }
        }
        let switchyard = try #require(jobs.first { $0["job_name"] as? String == "switchyard" })
        #expect(switchyard["metrics_path"] as? String == "/metrics")
        #expect(targets(switchyard) == ["127.0.0.1:8000"])
        let vllm = try #require(jobs.first { $0["job_name"] as? String == "vllm" })
        #expect(vllm["metrics_path"] as? String == "/metrics")
        #expect(targets(vllm) == ["127.0.0.1:8001", "127.0.0.1:8002"])
    }
}

@Suite("README: the metric table")
struct ReadmeMetricTableTests {
    @Test("every exported metric is documented, with its type, and nothing else is")
    func documented() throws {
        let readme = try String(contentsOf: repoRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let rows = readme.split(separator: "\n").filter { $0.hasPrefix("| `switchyard_") }
        var documented: [String: String] = [:]
        for row in rows {
            let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 2 else { continue }
            documented[cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`"))] = cells[1]
        }
        for metric in MetricCatalog.all {
            #expect(
                documented[metric.name] == metric.kind.rawValue,
                "\(metric.name) in README: \(documented[metric.name] ?? "missing")")
        }
        let exported = Set(MetricCatalog.all.map(\.name))
        #expect(Set(documented.keys).subtracting(exported).isEmpty, "documented but not exported")
    }
}
