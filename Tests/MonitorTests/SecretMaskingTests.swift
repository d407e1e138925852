import Monitor
import Testing

@Suite struct SecretMaskingTests {
    @Test(arguments: ["password", "db_password", "PASSWD", "token", "api_token", "secret", "apikey", "api-key", "API_KEY", "webhook", "authorization"])
    func secretKeys(_ key: String) {
        #expect(SecretMasking.isSecretKey(key))
        #expect(SecretMasking.masked(.object([key: "s3cr3t"])) == .object([key: .string(SecretMasking.mask)]))
    }

    @Test(arguments: ["host", "port", "url", "user", "channel", "label"])
    func ordinaryKeys(_ key: String) {
        #expect(!SecretMasking.isSecretKey(key))
        #expect(SecretMasking.masked(.object([key: "plain"])) == .object([key: "plain"]))
    }

    @Test func urlPasswords() {
        #expect(SecretMasking.maskURLPassword("amqp://u:p@h:5672/v") == "amqp://u:\(SecretMasking.mask)@h:5672/v")
        #expect(SecretMasking.maskURLPassword("mongodb://user:p%40ss@db/x?authSource=admin") == "mongodb://user:\(SecretMasking.mask)@db/x?authSource=admin")
        #expect(SecretMasking.maskURLPassword("http://example.org/a@b") == "http://example.org/a@b")
        #expect(SecretMasking.maskURLPassword("no url here") == "no url here")
    }

    @Test func urlQuerySecrets() {
        #expect(
            SecretMasking.masked(.string("https://h/x?user=a&access_token=abc&key=k1#top"))
                == .string("https://h/x?user=a&access_token=\(SecretMasking.mask)&key=\(SecretMasking.mask)#top"))
        #expect(SecretMasking.maskURLQuery("https://h/x?page=2") == "https://h/x?page=2")
        #expect(SecretMasking.maskURLQuery("not a url?token=1") == "not a url?token=1")
    }
}
