import Foundation
import Sync
import Testing

/// The one base64 (Foundation's, with checked input): what a content database's `yDoc` and the
/// HTTP API carry.
@Suite struct Base64Tests {
    @Test func roundTripsAndIsLenientWhereWritersDiffer() throws {
        for n in 0..<40 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 5) }
            let text = Base64.encode(bytes)
            #expect(try Base64.decode(text) == bytes)
            // Unpadded and URL-safe variants decode to the same bytes.
            let unpadded = String(text.filter { $0 != "=" })
            let urlSafe = String(unpadded.map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
            #expect(try Base64.decode(urlSafe) == bytes)
        }
        #expect(try Base64.decode("aGVs\nbG8=\n") == Array("hello".utf8))
        #expect(try Base64.decode("") == [])
    }

    @Test func badTextIsNamedWithItsPosition() {
        #expect(throws: Base64.Failure(reason: "truncated (a lone final character)")) { try Base64.decode("aGVsb") }
        #expect(throws: Base64.Failure(reason: "data after padding at offset 4")) { try Base64.decode("aG==aGVs") }
        #expect(throws: Base64.Failure(reason: "unexpected byte 0xc3 at offset 0")) { try Base64.decode("é") }
        #expect(throws: Base64.Failure(reason: "unexpected '*' at offset 2")) { try Base64.decode("aG*s") }
        #expect(throws: Base64.Failure(reason: "wrong padding")) { try Base64.decode("aGVsbA=") }
        #expect(throws: Base64.Failure(reason: "unexpected padding")) { try Base64.decode("aGVs=") }
    }
}
