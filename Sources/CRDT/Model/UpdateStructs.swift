/// An item as decoded from (or to be written to) an update.
public struct ItemStruct: Sendable, Equatable {
    public var id: ID
    public var origin: ID?
    public var rightOrigin: ID?
    /// Present on the wire only when neither origin nor right origin is.
    public var parent: ParentRef?
    /// The map key; on the wire only when neither origin nor right origin is.
    public var parentSub: String?
    /// Info bit 0x20 ("has a map key"). Yjs sets it whenever the item has a key, also when an
    /// origin is present and the key itself is therefore not on the wire (info `a8`). A decoded
    /// item with an origin thus has `hasParentSub == true` and `parentSub == nil`; the writer sets
    /// the bit when either is set, so such items re-encode byte-identically.
    public var hasParentSub: Bool
    public var content: YContent

    public init(id: ID, origin: ID?, rightOrigin: ID?, parent: ParentRef?, parentSub: String?, content: YContent) {
        self.id = id
        self.origin = origin
        self.rightOrigin = rightOrigin
        self.parent = parent
        self.parentSub = parentSub
        self.hasParentSub = parentSub != nil
        self.content = content
    }

    public var length: Clock { content.length }
}

/// One struct of an update: an item, a GC range or a Skip (a hole in a merged update).
public enum UpdateStruct: Sendable, Equatable {
    case gc(id: ID, length: Clock)
    case skip(id: ID, length: Clock)
    case item(ItemStruct)

    public var id: ID {
        switch self {
        case let .gc(id, _), let .skip(id, _): return id
        case let .item(item): return item.id
        }
    }

    public var length: Clock {
        switch self {
        case let .gc(_, n), let .skip(_, n): return n
        case let .item(item): return item.length
        }
    }

    /// One past the last clock this struct covers.
    public var endClock: Clock { id.clock &+ length }
}

/// A decoded update v1: client groups in wire order, then the delete set.
public struct DecodedUpdate: Sendable, Equatable {
    public struct Group: Sendable, Equatable {
        public var client: ClientID
        public var structs: [UpdateStruct]
        public init(client: ClientID, structs: [UpdateStruct]) {
            self.client = client
            self.structs = structs
        }
    }

    public var groups: [Group]
    public var deleteSet: DeleteSet

    public init(groups: [Group] = [], deleteSet: DeleteSet = DeleteSet()) {
        self.groups = groups
        self.deleteSet = deleteSet
    }
}
