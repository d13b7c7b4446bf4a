import CLISupport
import CRDT
import Testing

/// The CLI's JSON: `YAny` values, compact as `JSON.stringify` writes them, or indented for people.
@Suite struct JSONLayoutTests {
    let value: JSON = .object([
        ("name", .string("a \"b\"\n")), ("n", .int(3)), ("big", .uint(UInt64.max)), ("x", .double(0.5)),
        ("nan", .double(.nan)), ("list", .array([.int(1), .object([("k", .bool(true))])])), ("none", .null),
        ("empty", .array([])), ("skipped", .undefined),
    ])

    @Test func compactIsJSONStringify() {
        #expect(value.rendered() ==
            #"{"name":"a \"b\"\n","n":3,"big":18446744073709552000,"x":0.5,"nan":null,"list":[1,{"k":true}],"none":null,"empty":[]}"#)
    }

    @Test func prettyIndentsDownToTheGivenDepth() {
        #expect(value.rendered(pretty: true, prettyDepth: 1) == """
        {
          "name":"a \\"b\\"\\n",
          "n":3,
          "big":18446744073709552000,
          "x":0.5,
          "nan":null,
          "list":[1,{"k":true}],
          "none":null,
          "empty":[]
        }
        """)
        #expect(JSON.array([.array([.int(1)])]).rendered(pretty: true) == "[\n  [\n    1\n  ]\n]")
    }

    @Test func whatItWritesReadsBack() throws {
        let text = value.rendered(pretty: true)
        #expect(try JSON.parseJSON(text).rendered() == value.rendered())
    }
}
