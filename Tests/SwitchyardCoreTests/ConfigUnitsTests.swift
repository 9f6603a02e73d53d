import Testing

@testable import SwitchyardCore

@Suite("ConfigUnits")
struct ConfigUnitsTests {
    @Test(
        "durations parse",
        arguments: [
            ("500ms", Duration.milliseconds(500)),
            ("2s", .seconds(2)),
            ("1.5s", .milliseconds(1500)),
            ("1m", .seconds(60)),
            ("1.5m", .seconds(90)),
            ("1h", .seconds(3600)),
            ("3", .seconds(3)),
            ("0.25", .milliseconds(250)),
            ("0", .zero),
            ("0s", .zero),
            ("0ms", .zero),
            ("1ms", .milliseconds(1)),
            (" 2s ", .seconds(2)),
            ("500 ms", .milliseconds(500)),
            ("10s", .seconds(10)),
            ("100ms", .milliseconds(100)),
        ])
    func parsesDuration(text: String, expected: Duration) {
        #expect(ConfigUnits.parseDuration(text) == expected)
    }

    @Test(
        "durations rejected",
        arguments: [
            "abc", "-1s", "-1", "-500ms", "", "   ", "s", "ms", "m", "1d", "1 sec", "2S", "1.5.0s", "inf", "infs",
            "nan", "nans", "1s2", "two seconds",
        ])
    func rejectsDuration(text: String) {
        #expect(ConfigUnits.parseDuration(text) == nil)
    }

    @Test(
        "sizes parse",
        arguments: [
            ("64MiB", 64 * 1024 * 1024),
            ("512KiB", 512 * 1024),
            ("1GiB", 1 << 30),
            ("1GB", 1_000_000_000),
            ("2MB", 2_000_000),
            ("3KB", 3000),
            ("100", 100),
            ("100B", 100),
            ("0", 0),
            ("0KiB", 0),
            ("1.5KiB", 1536),
            (" 64 KiB ", 65536),
        ])
    func parsesSize(text: String, expected: Int) {
        #expect(ConfigUnits.parseSize(text) == expected)
    }

    @Test("sizes rejected", arguments: ["", "abc", "-1", "-1KiB", "64mib", "64 MiBs", "KiB", "1TB", "1.5", "nanB"])
    func rejectsSize(text: String) {
        #expect(ConfigUnits.parseSize(text) == nil)
    }

    @Test(
        "format prints whole seconds as s, the rest as ms",
        arguments: [
            (Duration.seconds(2), "2s"), (.milliseconds(500), "500ms"), (.seconds(60), "60s"), (.zero, "0s"),
            (.milliseconds(1), "1ms"), (.milliseconds(2000), "2s"), (.milliseconds(61_001), "61001ms"),
        ])
    func format(duration: Duration, expected: String) {
        #expect(ConfigUnits.format(duration) == expected)
    }

    @Test("format(1500ms) stays exact in milliseconds")
    func formatFractionalSeconds() {
        #expect(ConfigUnits.format(.milliseconds(1500)) == "1500ms")
        // Whatever the spelling, it must parse back to the same duration.
        #expect(ConfigUnits.parseDuration(ConfigUnits.format(.milliseconds(1500))) == .milliseconds(1500))
    }

    @Test(
        "format and parseDuration round-trip", arguments: [0, 1, 999, 1000, 1500, 4999, 60_000, 3_600_000, 86_400_123])
    func durationRoundTrip(milliseconds: Int) {
        let duration = Duration.milliseconds(milliseconds)
        #expect(ConfigUnits.parseDuration(ConfigUnits.format(duration)) == duration)
    }

    @Test(
        "formatSize and parseSize round-trip",
        arguments: [
            (0, "0"), (1, "1"), (1000, "1000"), (1024, "1KiB"), (1536, "1536"), (65536, "64KiB"),
            (1 << 20, "1MiB"), (64 << 20, "64MiB"), (1 << 30, "1GiB"), (3 << 30, "3GiB"), (1_000_000_000, "1000000000"),
        ])
    func sizeRoundTrip(bytes: Int, formatted: String) {
        #expect(ConfigUnits.formatSize(bytes) == formatted)
        #expect(ConfigUnits.parseSize(formatted) == bytes)
    }

    // Values too large for the integer conversion must be rejected (nil), not trap:
    // a typo in the config file must produce a config error, not a crash.
    @Test(
        "enormous, infinite or NaN values are rejected, not a crash",
        arguments: ["1e300s", "99999999999999999s", "infs", "nan", "1e30ms", "101000000000h"])
    func enormousDuration(text: String) {
        #expect(ConfigUnits.parseDuration(text) == nil)
    }

    @Test("enormous or infinite sizes are rejected, not a crash", arguments: ["1e30GiB", "infB", "nanKB", "1e300"])
    func enormousSize(text: String) {
        #expect(ConfigUnits.parseSize(text) == nil)
    }
}
