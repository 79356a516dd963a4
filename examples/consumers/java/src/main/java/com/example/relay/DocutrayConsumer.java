package com.example.relay;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads webhook-relay's CloudEvents from Kafka, verifies Docutray's body and auth signatures again
 * from the forwarded headers, and drops duplicates by ce_id (delivery is at-least-once).
 *
 * <pre>
 * mvn -q compile exec:java -Dexec.args="localhost:9092 $RELAY_DOCUTRAY_SECRETS $RELAY_DOCUTRAY_WEBHOOK_URL"
 * </pre>
 */
public final class DocutrayConsumer {
    private DocutrayConsumer() {}

    static String header(ConsumerRecord<byte[], byte[]> record, String name) {
        Header header = record.headers().lastHeader(name);
        return header == null || header.value() == null ? "" : new String(header.value(), StandardCharsets.UTF_8);
    }

    /** Whether expected ("sha256=<hex>") is the HMAC-SHA256 of data under any of the secrets. */
    static boolean signatureMatches(String expected, byte[] data, List<String> secrets) throws Exception {
        if (!expected.startsWith("sha256=")) {
            return false;
        }
        byte[] want = HexFormat.of().parseHex(expected.substring("sha256=".length()));
        for (String secret : secrets) {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            if (MessageDigest.isEqual(mac.doFinal(data), want)) {
                return true;
            }
        }
        return false;
    }

    static boolean verify(ConsumerRecord<byte[], byte[]> record, List<String> secrets, String webhookUrl) throws Exception {
        String auth = String.join("|",
                header(record, "x-docutray-request-id"), header(record, "x-docutray-timestamp"),
                webhookUrl, header(record, "x-docutray-event"));
        return signatureMatches(header(record, "x-docutray-signature"), record.value(), secrets)
                && signatureMatches(header(record, "x-docutray-auth-signature"), auth.getBytes(StandardCharsets.UTF_8), secrets);
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: DocutrayConsumer BOOTSTRAP SECRETS WEBHOOK_URL");
            System.exit(2);
        }
        List<String> secrets = List.of(args[1].split(","));
        Properties properties = new Properties();
        properties.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        properties.put(ConsumerConfig.GROUP_ID_CONFIG, "docutray-java");
        properties.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        properties.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        properties.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        Set<String> seen = new HashSet<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(properties)) {
            consumer.subscribe(Pattern.compile("docutray\\..*"));
            while (true) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    String id = header(record, "ce_id");
                    if (!verify(record, secrets, args[2])) {
                        System.out.printf("%s %s: signature mismatch, skipped%n", header(record, "ce_type"), id);
                        continue;
                    }
                    if (!seen.add(id)) {
                        continue; // a redelivery or a replay: already handled
                    }
                    System.out.printf("%s %s key=%s%s%n", header(record, "ce_type"), id,
                            record.key() == null ? "" : new String(record.key(), StandardCharsets.UTF_8),
                            header(record, "ce_relayreplay").isEmpty() ? "" : " (replayed)");
                }
            }
        }
    }
}
