import Foundation
import TestSupport

// The child processes these tests start: the Python pycrdt-websocket peers and the Yjs peer in `peers/` and
// `ycli serve` (TestSupport's `ChildProcess`: lines on stdin, JSON lines on stdout).

extension ChildProcess {
    static func peerScript(_ name: String) -> String {
        RepoData.root.appendingPathComponent("Tests/ReplicaServerTests/peers/\(name)").path
    }

    /// Starts a Python peer script (fails, never skips, when the venv is missing).
    static func pythonPeer(_ script: String, _ args: [String], label: String) throws -> ChildProcess {
        guard FileManager.default.isExecutableFile(atPath: RepoData.python) else {
            throw TestFailure.failed("no Python at \(RepoData.python): run scripts/setup.sh (it installs pycrdt-websocket into .venv) or set YSYNC_PYTHON")
        }
        return try ChildProcess(executable: RepoData.python, arguments: [peerScript(script)] + args, label: label)
    }
}

extension ChildProcess {
    /// Starts `peers/yjs_client.js`: real Yjs and y-websocket from Debian's packages under node
    /// (fails, never skips, when they are missing).
    static func yjsPeer(_ args: [String], label: String) throws -> ChildProcess {
        let node = ["/usr/bin/node", "/usr/local/bin/node"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let node, FileManager.default.fileExists(atPath: "/usr/share/nodejs/yjs") else {
            throw TestFailure.failed("no node with Debian's node-yjs: run scripts/setup.sh (it installs node-yjs, node-y-websocket, node-ws)")
        }
        return try ChildProcess(executable: node, arguments: [peerScript("yjs_client.js")] + args,
                                environment: ["NODE_PATH": "/usr/share/nodejs"], label: label)
    }
}

extension BuiltExecutable {
    /// `ycli serve --port 0 ...` as a child process; returns it and the port it reported.
    func serve(_ args: [String], env: [String: String] = [:]) async throws -> (ChildProcess, Int) {
        let p = try start(["serve", "--host", "127.0.0.1", "--port", "0"] + args, env: env, label: "ycli serve")
        let ready = try await p.nextJSON(timeout: 60)
        guard let port = ready["port"] as? Int, port > 0 else { throw TestFailure.failed("ycli serve said \(ready)") }
        return (p, port)
    }
}

/// JSON string quoting for the peers' line protocols.
func quoted(_ s: String) -> String {
    let data = try! JSONSerialization.data(withJSONObject: [s], options: [])
    let text = String(decoding: data, as: UTF8.self)
    return String(text.dropFirst().dropLast())
}
