import Foundation
import Monitor
import Notifiers
import Testing

/// `NAME_file: PATH` normally reads a secret from a file into `NAME`. An option that is itself
/// declared with a `_file` name (`ca_file`) must reach its notifier or check unchanged, through
/// the real loader, with no warning.
@Suite struct FileOptionTests {
    /// A value of the right type for a required option.
    static func sample(_ spec: OptionSpec) -> String {
        switch spec.kind {
        case .string: return "x"
        case .integer(let range): return "\(max(range.lowerBound, min(range.upperBound, 1)))"
        case .number(let range): return "\(max(range.lowerBound, min(range.upperBound, 1)))"
        case .boolean: return "true"
        case .duration: return "1"
        case .choice(let words): return words[0]
        case .stringList: return "[x]"
        case .stringMap: return "{a: b}"
        case .structure: return "x"
        }
    }

    static func yaml(section: String, path: [String], options: [OptionSpec], file: OptionSpec) -> String {
        var lines = ["\(section):"]
        var indent = "  "
        for part in path {
            lines.append("\(indent)\(part):")
            indent += "  "
        }
        for spec in options where spec.required && spec.name != file.name {
            lines.append("\(indent)\(spec.name): \(sample(spec))")
        }
        lines.append("\(indent)\(file.name): /run/secrets/\(file.name).pem")
        return lines.joined(separator: "\n") + "\n"
    }

    @Test func everyDeclaredFileOptionOfEveryNotifierIsKept() throws {
        let loader = ConfigLoader(checkKinds: CheckKinds.all, notifierKinds: NotifierKinds.all, environment: [:])
        var tried = 0
        for kind in NotifierKinds.all {
            for spec in kind.options where spec.name.hasSuffix("_file") {
                let text = Self.yaml(section: "notifiers", path: ["mine"], options: kind.options, file: spec)
                    .replacingOccurrences(of: "  mine:\n", with: "  mine:\n    type: \(kind.name)\n")
                    + "checks:\n  random:\n    a: {}\n"
                let config = try loader.load([ConfigSource(section: .whole, name: "config.yml", text: text)])
                #expect(config.warnings.isEmpty, "\(kind.name).\(spec.name): \(config.warnings)")
                #expect(config.notifiers.first?.options.string(spec.name) == "/run/secrets/\(spec.name).pem", "\(kind.name).\(spec.name)")
                tried += 1
            }
        }
        #expect(tried >= 4, "rabbitmq, email, influxdb and influxdb_v2 declare ca_file")
    }

    @Test func everyDeclaredFileOptionOfEveryCheckIsKept() throws {
        let loader = ConfigLoader(checkKinds: CheckKinds.all, notifierKinds: NotifierKinds.all, environment: [:])
        for kind in CheckKinds.all {
            for spec in ConfigLoader.commonCheckOptions + kind.options where spec.name.hasSuffix("_file") {
                let text = Self.yaml(section: "checks", path: [kind.name, "a"], options: kind.options, file: spec)
                    + "notifiers:\n  console: {}\n"
                let config = try loader.load([ConfigSource(section: .whole, name: "config.yml", text: text)])
                #expect(config.warnings.isEmpty, "\(kind.name).\(spec.name): \(config.warnings)")
                #expect(config.checks.first?.options.string(spec.name) == "/run/secrets/\(spec.name).pem", "\(kind.name).\(spec.name)")
            }
        }
    }

    /// An undeclared `NAME_file` still reads the secret into `NAME`.
    @Test func anUndeclaredFileKeyStillReadsASecret() throws {
        let secret = NSTemporaryDirectory() + "hm-file-option-\(ResultID.next())"
        try FileSystem.writeAtomically("s3cret\n", to: secret)
        let loader = ConfigLoader(checkKinds: CheckKinds.all, notifierKinds: NotifierKinds.all, environment: [:])
        let text = "notifiers:\n  email: {to: [ops@example.org], username: u, password_file: \(secret)}\nchecks:\n  random:\n    a: {}\n"
        let config = try loader.load([ConfigSource(section: .whole, name: "config.yml", text: text)])
        #expect(config.notifiers.first?.options.string("password") == "s3cret")
        #expect(config.warnings.isEmpty, "\(config.warnings)")
    }
}
