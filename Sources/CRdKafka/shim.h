#ifndef RELAY_CRDKAFKA_SHIM_H
#define RELAY_CRDKAFKA_SHIM_H

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/// Enqueues one message with key, headers and a per-message opaque.
///
/// `rd_kafka_producev` is variadic and cannot be called from Swift; this wrapper fixes the argument list.
/// The payload is not copied (no `RD_KAFKA_MSG_F_COPY`): librdkafka reads it in place until it
/// reports the message, so the caller keeps it alive and unchanged until then. The key is copied.
/// On success librdkafka owns `headers`; on failure the caller still owns them and must destroy them.
static inline rd_kafka_resp_err_t relay_produce(rd_kafka_t *rk,
                                                const char *topic,
                                                const void *value,
                                                size_t value_len,
                                                const void *key,
                                                size_t key_len,
                                                rd_kafka_headers_t *headers,
                                                void *opaque) {
    return rd_kafka_producev(rk,
                             RD_KAFKA_V_TOPIC(topic),
                             RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
                             RD_KAFKA_V_MSGFLAGS(0),
                             RD_KAFKA_V_VALUE((void *)value, value_len),
                             RD_KAFKA_V_KEY(key, key_len),
                             RD_KAFKA_V_HEADERS(headers),
                             RD_KAFKA_V_OPAQUE(opaque),
                             RD_KAFKA_V_END);
}

#endif
