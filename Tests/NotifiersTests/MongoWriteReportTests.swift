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

    /// A duplicate on another unique index is a refusal, not a delivery; on `_id` it is one.
    @Test func onlyADuplicateIDCountsAsDelivered() throws {
        let reply = try #require(
            BSONDocument(
                json: """
                    {"writeErrors": [
                      {"index": 0, "code": 11000, "keyPattern": {"_id": 1}, "errmsg": "E11000 duplicate key error collection: hm.results index: _id_ dup key: { _id: \\"a\\" }"},
                      {"index": 1, "code": 11000, "keyPattern": {"label": 1, "created": 1}, "errmsg": "E11000 duplicate key error"},
                      {"index": 2, "code": 11000, "errmsg": "E11000 duplicate key error collection: hm.results index: label_1 dup key: { label: \\"x\\" }"},
                      {"index": 3, "code": 11000, "errmsg": "E11000 duplicate key error collection: hm.results index: _id_ dup key: { _id: \\"b\\" }"}]}
                    """))
        let report = MongoWriteReport(reply: reply)
        #expect(report.duplicates == [0, 3])
        #expect(report.rejected.map(\.index) == [1, 2])
    }

    /// An index the batch does not have (or none) is reported, never used.
    @Test(arguments: [#"{"code": 121, "errmsg": "no index"}"#, #"{"index": 7, "code": 121, "errmsg": "beyond"}"#, #"{"index": -1, "code": 91, "errmsg": "negative"}"#])
    func aWriteErrorIndexOutsideTheBatchIsMalformed(_ error: String) throws {
        let reply = try #require(BSONDocument(json: #"{"writeErrors": [{"index": 0, "code": 121, "errmsg": "ok"}, "# + error + "]}"))
        let report = MongoWriteReport(reply: reply)
        #expect(report.malformedIndex(batch: 3) != nil)
        let fine = try #require(BSONDocument(json: #"{"writeErrors": [{"index": 2, "code": 121, "errmsg": "ok"}]}"#))
        #expect(MongoWriteReport(reply: fine).malformedIndex(batch: 3) == nil)
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
