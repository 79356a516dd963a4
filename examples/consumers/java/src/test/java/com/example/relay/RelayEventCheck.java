package com.example.relay;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs {@link RelayEvent}'s checks on records given on standard input, one per line: the value in
 * base64, then a tab-separated {@code name=base64} per header. Prints one JSON object per record
 * ({@code ce_id}, {@code ce_type}, {@code verified}, {@code replayed}). The webhook-relay tests feed it
 * records read back from Kafka, so the Java checks run without the Kafka client library.
 *
 * <pre>
 * java RelayEventCheck SECRETS WEBHOOK_URL &lt; records.txt
 * </pre>
 */
public final class RelayEventCheck {
    private RelayEventCheck() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: RelayEventCheck SECRETS WEBHOOK_URL < records");
            System.exit(2);
        }
        List<String> secrets = List.of(args[0].split(","));
        Base64.Decoder base64 = Base64.getDecoder();
        BufferedReader input = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line = input.readLine(); line != null; line = input.readLine()) {
            String[] fields = line.split("\t", -1);
            Map<String, byte[]> headers = new HashMap<>();
            for (int index = 1; index < fields.length; index++) {
                int equals = fields[index].indexOf('=');
                headers.put(fields[index].substring(0, equals), base64.decode(fields[index].substring(equals + 1)));
            }
            RelayEvent event = new RelayEvent(null, base64.decode(fields[0]), headers);
            System.out.printf("{\"ce_id\":\"%s\",\"ce_type\":\"%s\",\"verified\":%b,\"replayed\":%b}%n",
                    json(event.id()), json(event.type()), event.verify(secrets, args[1]), event.replayed());
        }
    }

    private static String json(String text) {
        StringBuilder escaped = new StringBuilder();
        for (char character : text.toCharArray()) {
            if (character == '"' || character == '\\') {
                escaped.append('\\').append(character);
            } else if (character < 0x20) {
                escaped.append(String.format("\\u%04x", (int) character));
            } else {
                escaped.append(character);
            }
        }
        return escaped.toString();
    }
}
