import Monitor
import Testing

@Suite struct StringPrintableTests {
    @Test(arguments: [
        ("plain ASCII stays", "plain ASCII stays"),
        ("500\r\nFAKE LOG LINE", "500\\r\\nFAKE LOG LINE"),
        ("tab\there", "tab\\there"),
        ("\u{1B}[31mred", "\\u{1B}[31mred"),
        ("nul\u{0}del\u{7F}", "nul\\0del\\u{7F}"),
        ("next\u{85}line\u{2028}sep", "next\\u{0085}line\\u{2028}sep"),
        ("\u{202E}exe.txt", "\\u{202E}exe.txt"),
        ("back\\slash", "back\\slash"),
        ("Prüfung 👩‍💻 日本\u{A0}ok", "Prüfung 👩‍💻 日本\u{A0}ok"),
    ])
    func escapingUnprintable(_ text: String, _ expected: String) {
        #expect(text.escapingUnprintable == expected)
        #expect(!expected.contains("\n") && !expected.contains("\r"))
    }
}
