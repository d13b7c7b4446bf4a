// swift-tools-version:6.0
import PackageDescription

// YSYNC_CORE_ONLY=1 leaves out everything that needs the network stack, so the core
// builds and tests in about a minute while iterating. CI builds everything.
let coreOnly = Context.environment["YSYNC_CORE_ONLY"] == "1"

var products: [Product] = [
    .library(name: "CRDT", targets: ["CRDT"]),
    .executable(name: "ycli", targets: ["ycli"]),
]

var dependencies: [Package.Dependency] = [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
]

var targets: [Target] = [
    .target(name: "CRDT"),
    .target(name: "TestSupport", dependencies: ["CRDT"], path: "Tests/TestSupport", exclude: ["pycrdt_peer.py"]),
    // zlib (gzip traces) and glibc's mallinfo2 (heap figures), as header-only system modules.
    .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
    .systemLibrary(name: "CMallocInfo", path: "Sources/CMallocInfo"),
    // Trace loading and replay (code points -> UTF-16) for `ycli bench trace`, unit-tested on its own.
    .target(name: "TraceKit", dependencies: ["CRDT", "CZlib", "CMallocInfo"]),
    .executableTarget(
        name: "ycli",
        dependencies: ["CRDT", "TraceKit", .product(name: "ArgumentParser", package: "swift-argument-parser")]
    ),
    .testTarget(name: "TraceKitTests", dependencies: ["TraceKit", "CRDT"]),
    .testTarget(name: "CRDTTests", dependencies: ["CRDT", "TestSupport"]),
    .executableTarget(name: "CRDTFuzz", dependencies: ["CRDT"], path: "Fuzz/CRDTFuzz"),
]

_ = coreOnly  // the server target joins here when it exists

let package = Package(
    name: "ysync",
    platforms: [.macOS(.v14)],
    products: products,
    dependencies: dependencies,
    targets: targets,
    swiftLanguageModes: [.v6]
)
