import Foundation

/// The bytes of unfinished y-partykit chunked messages (`y-pk-batch#`) held by every connection
/// of a server together (`RoomLimits.maxChunkedBytesTotal`). One connection's message is bounded
/// by `maxFrameBytes`, but forty connections each holding most of one were not: a part that
/// would pass this budget closes its connection (`tryAgainLater`), and a message's bytes come
/// back when it ends, fails or its connection goes. Thread-safe: rooms on any executor share it.
public final class ChunkBudget: @unchecked Sendable {
    /// The budget in bytes.
    public let limit: Int
    private let lock = NSLock()
    private var held = 0

    /// An empty budget of `limit` bytes.
    public init(limit: Int) { self.limit = limit }

    /// Bytes held now.
    public var bytesHeld: Int { lock.withLock { held } }

    /// Takes `bytes` if they fit; false (nothing taken) if they would pass the limit.
    func take(_ bytes: Int) -> Bool {
        lock.withLock {
            guard held + bytes <= limit else { return false }
            held += bytes
            return true
        }
    }

    /// Gives back `bytes` taken before.
    func give(_ bytes: Int) {
        guard bytes > 0 else { return }
        lock.withLock { held = max(0, held - bytes) }
    }
}
