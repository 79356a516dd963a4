package com.example.relay;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Pattern;
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

    static RelayEvent event(ConsumerRecord<byte[], byte[]> record) {
        Map<String, byte[]> headers = new HashMap<>();
        for (Header header : record.headers()) {
            headers.put(header.key(), header.value()); // the last one of a name wins
        }
        return new RelayEvent(record.key(), record.value(), headers);
    }

    public static void main(String[] args) {
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
                    RelayEvent event = event(record);
                    if (!event.verify(secrets, args[2])) {
                        System.out.printf("%s %s: signature mismatch, skipped%n", event.type(), event.id());
                        continue;
                    }
                    if (!seen.add(event.id())) {
                        continue; // a redelivery or a replay: already handled
                    }
                    System.out.printf("%s %s key=%s%s%n", event.type(), event.id(),
                            record.key() == null ? "" : new String(record.key(), StandardCharsets.UTF_8),
                            event.replayed() ? " (replayed)" : "");
                }
            }
        }
    }
}
