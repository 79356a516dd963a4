import SenderKit
import Senders

/// Every sender this relay verifies, in the order `config reference` and `dev` list them. Adding a
/// sender is its folder under `Sources/Senders` plus one line here.
let registeredSenders = SenderRegistry([
    DocutraySender()
])
