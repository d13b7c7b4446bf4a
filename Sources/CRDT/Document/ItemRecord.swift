/// Index of a struct in the document's arena. `-1` means "none".
typealias ItemRef = Int32
let noItem: ItemRef = -1

/// Index into the document's client table (so that records hold 4-byte client refs).
typealias ClientIndex = UInt32
let noClient: ClientIndex = .max

/// What an arena record holds. Raw values follow the content refs on the wire where they exist.
enum ContentKind: UInt8 {
    case gc = 0
    case deleted = 1
    case json = 2
    case binary = 3
    case string = 4
    case embed = 5
    case format = 6
    case type = 7
    case any = 8
    case doc = 9

    @inline(__always) var isCountable: Bool { self != .deleted && self != .format && self != .gc }
    /// Contents that can be split at any offset and merged with a neighbour.
    @inline(__always) var isSplittable: Bool { self == .string || self == .any || self == .json || self == .deleted }
}

/// One struct (item or GC range) of the document, stored by value in a contiguous arena.
/// Neighbours and parents are indices, never object references: no ARC on the hot path.
struct ItemRecord {
    var client: ClientIndex
    var clock: Clock
    var length: Clock
    var originClient: ClientIndex = noClient
    var originClock: Clock = 0
    var rightOriginClient: ClientIndex = noClient
    var rightOriginClock: Clock = 0
    var left: ItemRef = noItem
    var right: ItemRef = noItem
    /// Index of the parent type, -1 for GC structs.
    var parent: Int32 = -1
    /// Index of the map key in the key table, -1 for list items.
    var parentSub: Int32 = -1
    /// String: offset into the UTF-16 buffer. Type: index of the type. Other kinds: index into the
    /// content table. Deleted/GC: unused.
    var content: Int32 = -1
    var kind: ContentKind
    var flags: UInt8 = 0

    static let deletedFlag: UInt8 = 1
    static let keepFlag: UInt8 = 2

    @inline(__always) var isDeleted: Bool {
        get { flags & Self.deletedFlag != 0 }
        set { if newValue { flags |= Self.deletedFlag } else { flags &= ~Self.deletedFlag } }
    }
    @inline(__always) var keep: Bool {
        get { flags & Self.keepFlag != 0 }
        set { if newValue { flags |= Self.keepFlag } else { flags &= ~Self.keepFlag } }
    }
    @inline(__always) var isGC: Bool { kind == .gc }
    @inline(__always) var hasOrigin: Bool { originClient != noClient }
    @inline(__always) var hasRightOrigin: Bool { rightOriginClient != noClient }
    /// Visible, countable length inside its list (0 when deleted or not countable).
    @inline(__always) var visibleLength: Int {
        (flags & Self.deletedFlag == 0 && kind.isCountable && parentSub < 0) ? Int(length) : 0
    }
    @inline(__always) var lastClock: Clock { clock &+ length &- 1 }
}

/// A shared type: root (by name) or nested (held by an item with Type content).
struct TypeRecord {
    /// nil while a root is only known by name (the wire carries no type for roots).
    var ref: YTypeRef?
    /// The item whose content is this type, or -1 for roots.
    var item: ItemRef = noItem
    var rootName: String?
    /// First item of the list.
    var start: ItemRef = noItem
    /// Map key index -> rightmost item of that key's chain.
    var map: [Int32: ItemRef] = [:]
    /// Visible countable units in the list.
    var length: Int = 0
    /// Position cache for local list edits: an item and the number of visible units before it.
    var cursorItem: ItemRef = noItem
    var cursorIndex: Int = 0
}
