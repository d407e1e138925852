import Monitor
import Testing

@testable import Notifiers

@Suite struct MongoNotifierTests {
    @Test(arguments: ["0", "two", "-1"])
    func unacknowledgedOrUnknownWriteConcernsAreConfigErrors(w: String) {
        #expect(throws: ConfigDiagnostic.self) {
            _ = try MongoNotifier(context: makeContext(MongoNotifier.kind, ["write_concern": .string(w)]))
        }
    }

    @Test func aURILibmongocRefusesIsAConfigErrorWithoutThePassword() throws {
        do {
            _ = try MongoNotifier(context: makeContext(MongoNotifier.kind, ["uri": "mongodb://u:hunter2@host:notaport"]))
            Issue.record("expected a config error")
        } catch let diagnostic as ConfigDiagnostic {
            #expect(!diagnostic.description.contains("hunter2"))
            #expect(!diagnostic.description.contains("host:notaport"), "a URI that failed to parse is not echoed")
            #expect(diagnostic.description.contains("not a valid MongoDB URI"))
        }
    }

    @Test func majorityAndMemberCountsAreAccepted() throws {
        _ = try MongoNotifier(context: makeContext(MongoNotifier.kind, ["write_concern": "majority"]))
        _ = try MongoNotifier(context: makeContext(MongoNotifier.kind, ["write_concern": "2"]))
    }
}
