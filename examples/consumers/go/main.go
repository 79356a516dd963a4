// Command consumer reads webhook-relay's CloudEvents from Kafka, verifies Docutray's two signatures
// again from the forwarded headers, drops duplicates by ce_id, and prints one JSON object per event.
//
// Build (Debian packages, GOPATH mode):
//
//	apt-get install golang-go golang-github-confluentinc-confluent-kafka-go-dev librdkafka-dev
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o consumer .
//
// With Go modules instead: go mod init consumer && go get github.com/confluentinc/confluent-kafka-go/v2/kafka
// and change the import path to .../v2/kafka.
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/confluentinc/confluent-kafka-go/kafka"
)

type outcome struct {
	ID        string `json:"ce_id"`
	Type      string `json:"ce_type"`
	Topic     string `json:"topic"`
	Key       string `json:"key"`
	Verified  bool   `json:"verified"`
	Replayed  bool   `json:"replayed"`
	Duplicate bool   `json:"duplicate"`
}

func header(message *kafka.Message, name string) string {
	for _, h := range message.Headers {
		if h.Key == name {
			return string(h.Value)
		}
	}
	return ""
}

// signatureMatches tells whether expected ("sha256=<hex>") is the HMAC-SHA256 of data under any secret.
func signatureMatches(expected string, data []byte, secrets []string) bool {
	if !strings.HasPrefix(expected, "sha256=") {
		return false
	}
	want, err := hex.DecodeString(strings.TrimPrefix(expected, "sha256="))
	if err != nil {
		return false
	}
	for _, secret := range secrets {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(data)
		if hmac.Equal(mac.Sum(nil), want) {
			return true
		}
	}
	return false
}

func verify(message *kafka.Message, secrets []string, webhookURL string) bool {
	auth := fmt.Sprintf("%s|%s|%s|%s",
		header(message, "x-docutray-request-id"), header(message, "x-docutray-timestamp"),
		webhookURL, header(message, "x-docutray-event"))
	return signatureMatches(header(message, "x-docutray-signature"), message.Value, secrets) &&
		signatureMatches(header(message, "x-docutray-auth-signature"), []byte(auth), secrets)
}

func main() {
	bootstrap := flag.String("bootstrap", "localhost:9092", "Kafka bootstrap servers")
	secretList := flag.String("secret", "", "Docutray secrets, comma-separated")
	webhookURL := flag.String("webhook-url", "", "the relay's URL as registered in Docutray")
	topics := flag.String("topics", "^docutray\\..*", "topic or ^regex")
	group := flag.String("group", "docutray-go", "consumer group id")
	maxMessages := flag.Int("max-messages", 0, "stop after this many events (0: never)")
	idle := flag.Duration("idle-timeout", 0, "stop after this long without events once partitions are assigned (0: never)")
	flag.Parse()
	secrets := strings.Split(*secretList, ",")

	consumer, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers":                  *bootstrap,
		"group.id":                           *group,
		"auto.offset.reset":                  "earliest",
		"topic.metadata.refresh.interval.ms": 1000,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer consumer.Close()
	if err := consumer.SubscribeTopics([]string{*topics}, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	seen := map[string]bool{}
	encoder := json.NewEncoder(os.Stdout)
	lastMessage := time.Now()
	for handled := 0; *maxMessages == 0 || handled < *maxMessages; {
		message, err := consumer.ReadMessage(500 * time.Millisecond)
		if err != nil {
			// Idle time counts from when the group gave this consumer its partitions: joining
			// the group can take a while on a busy machine, and nothing can arrive before it.
			if assigned, _ := consumer.Assignment(); len(assigned) == 0 {
				lastMessage = time.Now()
				continue
			}
			if *idle > 0 && time.Since(lastMessage) > *idle {
				return
			}
			continue
		}
		lastMessage = time.Now()
		handled++
		id := header(message, "ce_id")
		result := outcome{
			ID: id, Type: header(message, "ce_type"), Topic: *message.TopicPartition.Topic, Key: string(message.Key),
			Verified: verify(message, secrets, *webhookURL), Replayed: header(message, "ce_relayreplay") != "",
			Duplicate: seen[id],
		}
		if result.Verified {
			seen[id] = true
		}
		encoder.Encode(result)
	}
}
