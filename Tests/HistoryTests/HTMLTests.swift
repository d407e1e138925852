import Report
import Testing

/// The one escape function of the HTML report and its SVG charts.
@Suite struct HTMLTests {
    @Test(arguments: [
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("\"quotes\" & ampersands", "&quot;quotes&quot; &amp; ampersands"),
        ("it's <b title='x'>", "it&#39;s &lt;b title=&#39;x&#39;&gt;"),
        // Already escaped text is text: escaped again, shown as written.
        ("&amp; &lt;", "&amp;amp; &amp;lt;"),
        ("Failed to connect to db:5432: connection refused", "Failed to connect to db:5432: connection refused"),
        ("ünïcödé 日本 → ✓ <", "ünïcödé 日本 → ✓ &lt;"),
        ("", ""),
    ])
    func escapesTheFiveCharactersAndNothingElse(text: String, expected: String) {
        #expect(HTML.escape(text) == expected)
    }
}
