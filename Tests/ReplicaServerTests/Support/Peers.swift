import Foundation
import TestSupport

// The child processes these tests start: the Python pycrdt-websocket peers in `peers/` and
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
