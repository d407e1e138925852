import Testing

import AMQPClient

@Suite struct AMQPEndpointTests {
    @Test func readsEveryPartOfTheURIAndMasksThePassword() throws {
        let e = try AMQPEndpoint(uri: "amqps://hm:s3cret@broker.example:5671/clowder%2Fprod")
        #expect(e.host == "broker.example")
        #expect(e.port == 5671)
        #expect(e.user == "hm")
        #expect(e.password == "s3cret")
        #expect(e.vhost == "clowder/prod")
        #expect(e.tls)
        #expect(e.display == "amqps://hm:********@broker.example:5671/clowder%2Fprod")
    }

    @Test func appliesDefaults() throws {
        let e = try AMQPEndpoint(uri: "amqp://localhost")
        #expect(e.port == 5672)
        #expect(e.user == "guest")
        #expect(e.vhost == "/")
        #expect(!e.tls)
    }

    @Test(arguments: ["http://localhost", "localhost:5672", "amqp://user:pw@:99999999/"])
    func refusesWhatIsNotAnAMQPURIWithoutShowingThePassword(uri: String) {
        #expect(throws: AMQPEndpoint.InvalidURI.self) { try AMQPEndpoint(uri: uri) }
        do {
            _ = try AMQPEndpoint(uri: uri)
        } catch {
            #expect(!error.description.contains(":pw@"))
            #expect(!error.description.contains(uri), "a URI that failed to parse is not echoed")
        }
    }
}
