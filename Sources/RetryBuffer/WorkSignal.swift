import RelayPrimitives

/// Tells whoever drains the buffer that there may be new work (records appended, or the buffer
/// stopping); a signal sent while nobody waits is kept for the next wait.
final class WorkSignal: Sendable {
    private let state = Locked<(signalled: Bool, waiters: [UInt64: CheckedContinuation<Void, Never>], next: UInt64)>(
        (false, [:], 0)
    )

    func signal() {
        let waiters = state.withLock { state in
            defer { state.waiters.removeAll() }
            if state.waiters.isEmpty { state.signalled = true }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns at the next signal (or at once if one came since the last wait), or after `timeout`.
    func wait(timeout: Duration) async {
        await withCheckedContinuation { continuation in
            let id = state.withLock { state -> UInt64? in
                if state.signalled {
                    state.signalled = false
                    return nil
                }
                state.next += 1
                state.waiters[state.next] = continuation
                return state.next
            }
            guard let id else {
                continuation.resume()
                return
            }
            Task { [weak self] in
                try? await Task.sleep(for: timeout)
                self?.expire(id)
            }
        }
    }

    private func expire(_ id: UInt64) {
        state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
    }
}
