import SenderKit

extension SenderRegistry {
    /// Every sender this relay verifies, in the order `config reference` and `dev` list them. Adding
    /// a sender is its folder beside this file plus one line here; `webhook-relay` and the tests
    /// both take this list, so neither can miss one.
    public static let all = SenderRegistry([
        DocutraySender(),
        StandardWebhooksSender(),
        GitHubSender(),
        StripeSender(),
        ShopifySender(),
        SlackSender(),
        GenericHMACSender(),
        HubSpotSender(),
        ZoomSender(),
        SquareSender(),
        PaddleSender(),
        GitLabSender(),
        TwitchSender(),
        LinearSender(),
        MailgunSender(),
        AdyenSender(),
        TwilioSender(),
        SendGridSender(),
        DiscordSender(),
        AmazonSNSSender(),
        PayPalSender(),
    ])
}
