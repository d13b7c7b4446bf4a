import Journal

/// Severity of a room log line, ordered debug < info < warning < error.
public enum RoomLogLevel: String, Sendable, Comparable {
    case debug, info, warning, error
    private var rank: Int { [.debug: 0, .info: 1, .warning: 2, .error: 3][self]! }
    /// Orders by severity.
    public static func < (a: RoomLogLevel, b: RoomLogLevel) -> Bool { a.rank < b.rank }
}

/// Where rooms write their log lines (the server bridges it to swift-log).
public typealias RoomLogger = @Sendable (RoomLogLevel, String) -> Void

/// How rooms are stored, limited and saved.
public struct RoomConfig: Sendable {
    /// Limits every room enforces on its connections and document.
    public var limits = RoomLimits()
    /// Journal options of every room (durability: `.full` fsyncs every update before it is
    /// relayed or acknowledged).
    public var journal = JournalOptions()
    /// Compact a room's journal (when its thresholds are passed) after this many appends.
    public var compactEvery = 64
    /// The seed's content store, if configured: rooms load from it when they have no journal
    /// yet, and autosave writes `yDoc` and `body` back to it.
    public var contentStore: ContentStore?
    /// Root text whose content is the content store's `body`.
    public var bodyText = "codemirror"
    /// Autosave: this long after the last change, and at most this long after the first unsaved one.
    public var autosaveDebounce: Double = 2
    /// Seconds: autosave happens at the latest this long after the first unsaved change.
    public var autosaveMaxDelay: Double = 10

    /// The defaults (limits and journal options default too, no content store).
    public init() {}
}
