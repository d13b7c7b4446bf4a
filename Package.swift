// swift-tools-version:6.1
import PackageDescription

// YSYNC_CORE_ONLY=1 leaves out everything that needs the network stack, so the core
// builds and tests in about a minute while iterating. CI builds everything.
let coreOnly = Context.environment["YSYNC_CORE_ONLY"] == "1"

var products: [Product] = [
    .library(name: "CRDT", targets: ["CRDT"]),
    .library(name: "Journal", targets: ["Journal"]),
    .library(name: "Sync", targets: ["Sync"]),
    .library(name: "Replica", targets: ["Replica"]),
    .executable(name: "ycli", targets: ["ycli"]),
]

var dependencies: [Package.Dependency] = [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
]

var targets: [Target] = [
    .target(name: "CRDT"),
    .target(name: "TestSupport", dependencies: ["CRDT", "Sync"], path: "Tests/TestSupport", exclude: ["pycrdt_peer.py", "yjs_oracle.js"]),
    // What ycli and ysync-bench both print and read: the indented JSON layout, console, file bytes, formatting.
    .target(name: "CLISupport", dependencies: ["CRDT"]),
    .testTarget(name: "CLISupportTests", dependencies: ["CLISupport", "CRDT"]),
    // zlib (gzip traces) and glibc's mallinfo2 (heap figures), as header-only system modules.
    .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
    .systemLibrary(name: "CMallocInfo", path: "Sources/CMallocInfo"),
    // The update journal: liblz4 and libsqlite3 as system modules (apt: liblz4-dev, libsqlite3-dev).
    .systemLibrary(name: "CLZ4", path: "Sources/CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
    .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
    .target(name: "Journal", dependencies: ["CRDT", "CLZ4", "CSQLite"]),
    // Child process of the crash-safety tests: appends until killed.
    .executableTarget(name: "JournalCrashWorker", dependencies: ["Journal", "CRDT", "TestSupport"], path: "Tests/JournalCrashWorker"),
    .testTarget(name: "JournalTests", dependencies: ["Journal", "CRDT", "CSQLite", "TestSupport"]),
    .executableTarget(
        name: "ycli",
        dependencies: ["CRDT", "CLISupport", "Journal", "Sync", "Replica", .product(name: "ArgumentParser", package: "swift-argument-parser")]
    ),
    .testTarget(name: "TraceKitTests", dependencies: ["TraceKit", "CLISupport", "CRDT", "TestSupport"]),
    .testTarget(name: "CRDTTests", dependencies: ["CRDT", "TestSupport", "TraceKit"]),
    // Runs the built ycli binary on temporary stores (build everything first: swift build --build-tests).
    .testTarget(name: "ycliTests", dependencies: ["CRDT", "TestSupport"]),
    .target(name: "FuzzSupport", path: "Fuzz/FuzzSupport"),
    .executableTarget(name: "CRDTFuzz", dependencies: ["CRDT", "FuzzSupport"], path: "Fuzz/CRDTFuzz"),
    // Sans-IO sync protocol (y-protocols messages, awareness, sessions), transports, file hand-over.
    .target(name: "Sync", dependencies: ["CRDT"]),
    .testTarget(name: "SyncTests", dependencies: ["Sync", "CRDT", "TestSupport"]),
    .executableTarget(name: "SyncFuzz", dependencies: ["Sync", "CRDT", "FuzzSupport"], path: "Fuzz/SyncFuzz"),
    // A document + its journal + its sync sessions (offline-first; reconnect with backoff).
    .target(name: "Replica", dependencies: ["CRDT", "Journal", "Sync"]),
    .testTarget(name: "ReplicaTests", dependencies: ["Replica", "Sync", "Journal", "CRDT", "TestSupport", "TraceKit"]),
]

// Benchmarks, outside the product: trace loading and replay (code points -> UTF-16, concurrent
// traces over replicas) and the `ysync-bench` executable that scripts/bench-all.sh drives.
targets += [
    .target(name: "TraceKit", dependencies: ["CRDT", "Replica", "CLISupport", "CZlib", "CMallocInfo"],
            path: "Benchmarks/Sources/TraceKit"),
    .executableTarget(name: "ysync-bench", dependencies: [
        "CRDT", "CLISupport", "TraceKit", "Journal", "Sync", "Replica",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
    ], path: "Benchmarks/Sources/ysync-bench"),
]

// Room hosting without any network code (rooms, content store, limits, metrics): tested in the
// core-only build too.
targets += [
    .target(name: "RoomHost", dependencies: ["CRDT", "Journal", "Sync", "Replica"]),
    .testTarget(name: "RoomHostTests", dependencies: ["RoomHost", "Replica", "Sync", "Journal", "CRDT", "TestSupport"]),
    // The server boundary's fuzz target: WebSocket messages and HTTP bodies into a real room (scripts/fuzz.sh RoomFuzz).
    .executableTarget(name: "RoomFuzz", dependencies: ["RoomHost", "Replica", "Sync", "Journal", "CRDT", "FuzzSupport"], path: "Fuzz/RoomFuzz"),
]

// The server: the only module importing Hummingbird (HTTP, WebSocket server and client) and JWTKit.
if !coreOnly {
    products.append(.library(name: "ReplicaServer", targets: ["ReplicaServer"]))
    dependencies += [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.7.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ]
    targets += [
        .target(name: "ReplicaServer", dependencies: [
            "CRDT", "Journal", "Sync", "Replica", "RoomHost",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            .product(name: "JWTKit", package: "jwt-kit"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // peers/: the Python pycrdt-websocket peers the tests start (run from the source tree).
        .testTarget(name: "ReplicaServerTests", dependencies: [
            "ReplicaServer", "RoomHost", "Replica", "Sync", "Journal", "CRDT", "TestSupport",
        ], exclude: ["peers"]),
    ]
    if let ycli = targets.first(where: { $0.name == "ycli" }) {
        ycli.dependencies += ["ReplicaServer", "RoomHost", .product(name: "Logging", package: "swift-log")]
    }
    if let bench = targets.first(where: { $0.name == "ysync-bench" }) {
        bench.dependencies += ["ReplicaServer", "RoomHost"]
    }
}

let package = Package(
    name: "ysync",
    platforms: [.macOS(.v14)],
    products: products,
    dependencies: dependencies,
    targets: targets,
    swiftLanguageModes: [.v6]
)
