package com.example.relay;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * One record of a webhook-relay topic: Docutray's body byte for byte as the value, the CloudEvents
 * attributes ({@code ce_*}) and Docutray's original headers ({@code x-docutray-*}) as Kafka headers.
 * Only the JDK is used here, so the checks work with any Kafka client.
 *
 * @param key the record key (the document id), or null
 * @param value the webhook body exactly as Docutray sent it
 * @param headers the record's headers; for a name given twice, the last value
 */
public record RelayEvent(byte[] key, byte[] value, Map<String, byte[]> headers) {

    /** A header as text, or "" when it is missing. */
    public String header(String name) {
        byte[] bytes = headers.get(name);
        return bytes == null ? "" : new String(bytes, StandardCharsets.UTF_8);
    }

    /** The delivery id, unique per event: deduplicate by it (delivery is at-least-once). */
    public String id() {
        return header("ce_id");
    }

    /** The CloudEvents type, e.g. {@code com.docutray.conversion.completed}. */
    public String type() {
        return header("ce_type");
    }

    /** Whether an operator replayed this event from the relay's archive or dead letters. */
    public boolean replayed() {
        return !header("ce_relayreplay").isEmpty();
    }

    /**
     * Verifies both of Docutray's signatures again from the forwarded headers: the body signature
     * over the value, and the auth signature over {@code request_id|timestamp|webhook_url|event}.
     * {@code webhookUrl} is the URL Docutray was configured to call (the relay's public address).
     */
    public boolean verify(List<String> secrets, String webhookUrl) {
        String auth = String.join("|",
                header("x-docutray-request-id"), header("x-docutray-timestamp"),
                webhookUrl, header("x-docutray-event"));
        return signatureMatches(header("x-docutray-signature"), value == null ? new byte[0] : value, secrets)
                && signatureMatches(header("x-docutray-auth-signature"), auth.getBytes(StandardCharsets.UTF_8), secrets);
    }

    /** Whether expected ("sha256=<hex>") is the HMAC-SHA256 of data under one of the secrets. */
    static boolean signatureMatches(String expected, byte[] data, List<String> secrets) {
        if (!expected.startsWith("sha256=")) {
            return false;
        }
        byte[] want;
        try {
            want = HexFormat.of().parseHex(expected.substring("sha256=".length()));
        } catch (IllegalArgumentException notHex) {
            return false;
        }
        for (String secret : secrets) {
            try {
                Mac mac = Mac.getInstance("HmacSHA256");
                mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
                if (MessageDigest.isEqual(mac.doFinal(data), want)) {
                    return true;
                }
            } catch (GeneralSecurityException | IllegalArgumentException unusable) {
                // An empty secret cannot key an HMAC: it matches nothing.
            }
        }
        return false;
    }
}
