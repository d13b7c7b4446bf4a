/// The kind of shared type held by a Type content (content ref 7), with its type ref number.
public enum YTypeRef: Sendable, Equatable, Hashable {
    case array            // 0
    case map              // 1
    case text             // 2
    case xmlElement(String) // 3, node name
    case xmlFragment      // 4
    case xmlHook(String)  // 5, hook name (Yjs only)
    case xmlText          // 6

    /// The type ref number on the wire (0...6).
    public var number: UInt8 {
        switch self {
        case .array: return 0
        case .map: return 1
        case .text: return 2
        case .xmlElement: return 3
        case .xmlFragment: return 4
        case .xmlHook: return 5
        case .xmlText: return 6
        }
    }
}

/// The content of an item, as on the wire (refs 1...9). Strings are UTF-16 code units,
/// because lengths and offsets on the wire count UTF-16 units.
public enum YContent: Sendable, Equatable {
    case deleted(length: Clock)                 // 1
    case json([String])                         // 2, legacy: raw JSON texts ("undefined" allowed)
    case binary([UInt8])                        // 3
    case string([UInt16])                       // 4
    case embed(json: String)                    // 5, JSON text
    case format(key: String, json: String)      // 6, value as JSON text
    case type(YTypeRef)                         // 7
    case any([YAny])                            // 8
    case doc(guid: String, options: YAny)       // 9

    /// The content ref written in the low 5 bits of the info byte.
    public var ref: UInt8 {
        switch self {
        case .deleted: return 1
        case .json: return 2
        case .binary: return 3
        case .string: return 4
        case .embed: return 5
        case .format: return 6
        case .type: return 7
        case .any: return 8
        case .doc: return 9
        }
    }

    /// How many clock values the content consumes.
    public var length: Clock {
        switch self {
        case let .deleted(n): return n
        case let .json(a): return Clock(a.count)
        case let .string(s): return Clock(s.count)
        case let .any(a): return Clock(a.count)
        case .binary, .embed, .format, .type, .doc: return 1
        }
    }

    /// Countable contents contribute to the length and indexes of their parent type.
    public var isCountable: Bool {
        switch self {
        case .deleted, .format: return false
        default: return true
        }
    }
}

/// Where an item's parent is named on the wire.
public enum ParentRef: Sendable, Equatable, Hashable {
    /// A root type, by name.
    case root(String)
    /// A nested type: the id of the item whose content is that type.
    case item(ID)
}
