import ArgumentParser

@main
struct Switchyard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard",
        abstract: "An LLM-aware reverse proxy and load balancer for vLLM replicas.",
        subcommands: [Serve.self, CheckConfig.self, Sim.self, Demo.self, Bench.self]
    )
}
