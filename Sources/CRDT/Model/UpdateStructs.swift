/// An item as decoded from (or to be written to) an update.
public struct ItemStruct: Sendable, Equatable {
    /// The item's first id (client and clock).
    public var id: ID
    /// The id of the item on the left when it was inserted (nil: inserted at the start).
    public var origin: ID?
    /// The id of the item on the right when it was inserted (nil: inserted at the end).
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
    /// What the item holds.
    public var content: YContent

    /// An item; `hasParentSub` is set when `parentSub` is given.
    public init(id: ID, origin: ID?, rightOrigin: ID?, parent: ParentRef?, parentSub: String?, content: YContent) {
        self.id = id
        self.origin = origin
        self.rightOrigin = rightOrigin
        self.parent = parent
        self.parentSub = parentSub
        self.hasParentSub = parentSub != nil
        self.content = content
    }

    /// How many clocks the item covers (its content's length).
    public var length: Clock { content.length }
}

/// One struct of an update: an item, a GC range or a Skip (a hole in a merged update).
public enum UpdateStruct: Sendable, Equatable {
    /// A garbage-collected range: the ids exist but their content is gone.
    case gc(id: ID, length: Clock)
    /// A range the update does not carry (a hole left by merging updates that are not contiguous).
    case skip(id: ID, length: Clock)
    /// An item with content.
    case item(ItemStruct)

    /// The struct's first id.
    public var id: ID {
        switch self {
        case let .gc(id, _), let .skip(id, _): return id
        case let .item(item): return item.id
        }
    }

    /// How many clocks the struct covers.
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
    /// The structs of one client, in clock order.
    public struct Group: Sendable, Equatable {
        /// The client whose structs these are.
        public var client: ClientID
        /// The structs, contiguous in clock (holes are `.skip`).
        public var structs: [UpdateStruct]
        /// A group of `client`'s structs.
        public init(client: ClientID, structs: [UpdateStruct]) {
            self.client = client
            self.structs = structs
        }
    }

    /// The client groups, in wire order.
    public var groups: [Group]
    /// The ranges this update deletes.
    public var deleteSet: DeleteSet

    /// An update from its groups and delete set (by default the empty update).
    public init(groups: [Group] = [], deleteSet: DeleteSet = DeleteSet()) {
        self.groups = groups
        self.deleteSet = deleteSet
    }
}
