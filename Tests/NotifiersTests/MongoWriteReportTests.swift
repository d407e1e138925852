import Testing

@testable import Notifiers

@Suite struct MongoWriteReportTests {
    @Test func sortsPerDocumentErrorsIntoDuplicatesTransientAndRejected() throws {
        let reply = try #require(
            BSONDocument(
                json: """
                    {"nInserted": 1, "writeErrors": [
                      {"index": 0, "code": 11000, "errmsg": "E11000 duplicate key"},
                      {"index": 2, "code": 121, "errmsg": "Document failed validation"},
                      {"index": 3, "code": 91, "errmsg": "shutting down"}]}
                    """))
        let report = MongoWriteReport(reply: reply)
        #expect(report.duplicates == [0])
        #expect(report.rejected == [.init(index: 2, code: 121, message: "Document failed validation")])
        #expect(report.transient == [.init(index: 3, code: 91, message: "shutting down")])
        #expect(report.writeConcernError == nil)
        #expect(!report.isClean)
    }

    @Test func readsAWriteConcernError() throws {
        let reply = try #require(
            BSONDocument(json: #"{"nInserted": 2, "writeConcernErrors": [{"code": 64, "errmsg": "waiting for replication timed out"}]}"#))
        #expect(MongoWriteReport(reply: reply).writeConcernError == "waiting for replication timed out")
    }

    @Test func aCleanReplyHasNothing() throws {
        let reply = try #require(BSONDocument(json: #"{"nInserted": 3}"#))
        #expect(MongoWriteReport(reply: reply).isClean)
    }
}
