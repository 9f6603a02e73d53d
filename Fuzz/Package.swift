// swift-tools-version: 6.1
// libFuzzer harnesses for SwitchyardCore's pure parsers. A separate package so that its
// sanitizer build lives in Fuzz/.build, apart from the main package's. Build and run with
// Benchmarks/fuzz/run.sh (Linux; needs a toolchain with libFuzzer, e.g. swift.org's).
import PackageDescription

let fuzzTargets = ["FuzzRequestProfile", "FuzzSSEObserver", "FuzzImageHeader"]

let package = Package(
    name: "switchyard-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "switchyard", path: "..")
    ],
    targets: [
        // Declares libFuzzer's LLVMFuzzerRunDriver (see FuzzerEntry in each target).
        .target(name: "CFuzzerDriver")
    ]
        + fuzzTargets.map { name in
            .executableTarget(
                name: name,
                dependencies: ["CFuzzerDriver", .product(name: "SwitchyardCore", package: "switchyard")]
            )
        }
)
