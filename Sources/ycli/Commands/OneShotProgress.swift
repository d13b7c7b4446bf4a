import CRDT
import Replica
import Sync

/// Where a one-shot `ycli sync` stands, read from the frames going both ways. It is done once
/// the handshake is complete, we hold what the server held when it greeted us, and what we sent
/// is acknowledged (durable acks: a server step 1 that covers our state, sent after it
/// journaled) or answered (`--no-ack`: a step 1 of ours sent after our step 2 and its answer; a
/// server handles a connection's messages in order, so the answer shows it processed our step 2).
struct OneShotProgress {
    /// Durable acknowledgements asked for (`ack=1`), else the barrier.
    let waitForAck: Bool
    /// Our handshake step 2 (the answer to the server's greeting) went out.
    private(set) var sentStep2 = false
    /// That step 2 carried something the server lacked (else nothing waits for an ack).
    private(set) var sentContent = false
    /// The server's journaled state covers all we hold.
    private(set) var acknowledged = false
    /// `--no-ack`: our barrier step 1 went out / was answered.
    private(set) var barrierSent = false
    private(set) var barrierAnswered = false
    /// Every step 1 gets one step 2, in order: the server's answer to our greeting, then to the barrier.
    private var step2Received = 0
    /// The server's greeting (its first step 1): we are done receiving once we hold all it held
    /// then (its step 2 may come in several pieces).
    private var greetingSV: StateVector?

    init(waitForAck: Bool) { self.waitForAck = waitForAck }

    /// A frame from the server, after the core handled it (`local`: our state vector now).
    mutating func received(_ frame: [UInt8], local: StateVector) {
        switch FrameKind(of: frame) {
        case .syncStep1:
            guard case let .syncStep1(bytes)? = try? SyncMessage.decode(frame),
                  let sv = try? StateVector(decoding: bytes) else { return }
            if greetingSV == nil { greetingSV = sv }
            // A store sent in several pieces gets an ack per piece; our deletes travel before the
            // structs (`Updates.split`), so they are in once the structs are.
            if sentContent, covers(sv, local) { acknowledged = true }
        case .syncStep2:
            step2Received += 1
            if barrierSent, step2Received >= 2 { barrierAnswered = true }
        default:
            break
        }
    }

    /// A frame we sent. Our first step 2 carries what the server lacks; later ones answer its
    /// acknowledgements and are not acknowledged again.
    mutating func sent(_ frame: [UInt8]) {
        guard !sentStep2, FrameKind(of: frame) == .syncStep2,
              case let .syncStep2(update)? = try? SyncMessage.decode(frame) else { return }
        sentStep2 = true
        if let coverage = try? UpdateCoverage(update: update), !coverage.isEmpty { sentContent = true }
    }

    /// `--no-ack`: true once, right after our step 2 went out: send the barrier step 1 now.
    mutating func takeBarrier() -> Bool {
        guard !waitForAck, sentStep2, !barrierSent else { return false }
        barrierSent = true
        return true
    }

    /// Everything the sync waits for has arrived.
    func isDone(handshakeComplete: Bool, local: StateVector) -> Bool {
        guard handshakeComplete, sentStep2, let greeting = greetingSV, covers(local, greeting) else { return false }
        return !sentContent || (waitForAck ? acknowledged : barrierAnswered)
    }

    /// What the sync waits for once our changes went out (nil: still in the handshake).
    var awaiting: String? {
        guard sentStep2, sentContent else { return nil }
        return waitForAck ? "waiting for the server to acknowledge our changes (journaled)"
                          : "waiting for the answer to our barrier step 1 (--no-ack)"
    }

    /// `a` holds every clock unit `b` holds.
    private func covers(_ a: StateVector, _ b: StateVector) -> Bool {
        b.clocks.allSatisfy { a[$0.key] >= $0.value }
    }
}
