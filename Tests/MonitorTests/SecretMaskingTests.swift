@testable import Monitor
import Testing

@Suite struct SecretMaskingTests {
    @Test(arguments: [
        "password", "db_password", "PASSWD", "token", "api_token", "secret", "apikey", "api-key", "API_KEY", "webhook",
        "authorization", "signature", "url_signature", "private_key", "privateKey", "aws_access_key", "accessKeyId",
        "secret_key", "pass", "db_pass", "smtpPass", "pwd", "user_pwd", "credentials", "session", "session_id", "cookie",
    ])
    func secretKeys(_ key: String) {
        #expect(SecretMasking.isSecretKey(key))
        #expect(SecretMasking.masked(.object([key: "s3cr3t"])) == .object([key: .string(SecretMasking.mask)]))
    }

    @Test(arguments: ["host", "port", "url", "user", "channel", "label", "passive", "bypass", "compass", "keyspace", "path"])
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

    /// Passwords in URLs of every scheme, encoded or not, and URLs that hold none.
    @Test(arguments: [
        ("amqp://u:p@h:5672/v", "amqp://u:********@h:5672/v"),
        ("amqps://guest:guest@rabbit.example.org/%2F", "amqps://guest:********@rabbit.example.org/%2F"),
        ("amqp://user:p@ss/w?rd#1@host/vhost", "amqp://user:********@host/vhost"),
        ("mongodb://user:p%40ss@db/x?authSource=admin", "mongodb://user:********@db/x?authSource=admin"),
        ("mongodb://u:s3cr3t@h1:27017,h2:27017/db?replicaSet=rs0", "mongodb://u:********@h1:27017,h2:27017/db?replicaSet=rs0"),
        ("mongodb+srv://admin:p@ss@cluster0.example.net/", "mongodb+srv://admin:********@cluster0.example.net/"),
        ("smtps://mail:hunter2@smtp.example.org:465", "smtps://mail:********@smtp.example.org:465"),
        ("https://user:pa:ss@example.org/x", "https://user:********@example.org/x"),
        ("http://example.org/a@b", "http://example.org/a@b"),
        ("https://host:8080/a@b", "https://host:8080/a@b"),
        ("amqp://guest@host/v", "amqp://guest@host/v"),
        ("no url here", "no url here"),
        ("failed: amqp://u:top$ecret@broker:5672/", "failed: amqp://u:********@broker:5672/"),
    ])
    func urlPasswordsOfEveryScheme(_ input: String, _ expected: String) {
        #expect(SecretMasking.maskURLPassword(input) == expected)
        #expect(SecretMasking.masked(.object(["uri": .string(input)])) == .object(["uri": .string(expected)]))
    }

    @Test func urlQuerySecrets() {
        #expect(
            SecretMasking.masked(.string("https://h/x?user=a&access_token=abc&key=k1#top"))
                == .string("https://h/x?user=a&access_token=\(SecretMasking.mask)&key=\(SecretMasking.mask)#top"))
        #expect(SecretMasking.maskURLQuery("https://h/x?page=2") == "https://h/x?page=2")
        #expect(SecretMasking.maskURLQuery("not a url?token=1") == "not a url?token=1")
    }

    /// An ASCII key is read as bytes (no allocation); its answer is the Unicode rules' answer
    /// for every key made of up to three of these pieces (pieces that make or break a fragment
    /// or a word across a separator, a case change or a digit).
    @Test func asciiKeysAreJudgedAsByTheUnicodeRules() {
        let pieces = [
            "pass", "Pass", "PASS", "pwd", "Pwd", "body", "Body", "to", "ken", "TOKEN", "api", "Key", "private", "access", "sess", "ion",
            "compass", "bypass", "passive", "word", "s", "p", "_", "-", ".", " ", "1", "x", "X", "",
        ]
        var checked = 0
        var secret = 0
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let key = a + b + c
                    let expected = SecretMasking.unicodeIsSecretKey(key)
                    #expect(SecretMasking.isSecretKey(key) == expected, "\(key)")
                    checked += 1
                    if expected { secret += 1 }
                }
            }
        }
        #expect(checked == 27_000 && secret > 1_000 && secret < 26_000)
        // Keys that are not ASCII take the Unicode path.
        #expect(SecretMasking.isSecretKey("Passwört") == false && SecretMasking.isSecretKey("größe_pwd"))
        #expect(SecretMasking.isSecretKey("äPass") && SecretMasking.isSecretKey("PASSWORD_Ü"))
    }
}
