import Foundation
import Logging
import Monitor

/// A notifier context with `kind`'s defaults, `overrides` on top, and a state directory.
func makeContext(_ kind: NotifierKind, _ overrides: [String: JSONValue] = [:], stateDirectory: String = NSTemporaryDirectory()) -> NotifierContext {
    var values: [String: JSONValue] = [:]
    for spec in kind.options { if let d = spec.defaultValue { values[spec.name] = d } }
    for (k, v) in overrides { values[k] = v }
    return NotifierContext(
        name: kind.name, options: Options(values, path: "notifiers.\(kind.name)"), logger: Logger(label: "test"),
        stateDirectory: stateDirectory)
}

/// A result with every kind of measurement value.
func sampleResult(id: String = ResultID.next(), label: String = "clowder") -> CheckResult {
    CheckResult(
        id: id, status: .failure, check: "ping", label: label, message: "0/5 packets",
        measurement: ["loss": 100.0, "sent": 5, "reachable": false, "address": "10.0.0.1", "none": .null],
        createdMillis: 1_764_075_909_042, elapsed: 4.25,
        config: ["host": "clowder.example", "password": "********", "sleep": 60], host: "monitor-1")
}
