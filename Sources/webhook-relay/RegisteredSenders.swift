import SenderKit
import Senders

/// The senders `webhook-relay` verifies: all of them (`Sources/Senders/AllSenders.swift`). A build
/// that should verify fewer lists them here instead, e.g. `SenderRegistry([GitHubSender()])`.
let registeredSenders = SenderRegistry.all
