import CRDT
