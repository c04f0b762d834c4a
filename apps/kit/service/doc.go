// Package service is the small amount of plumbing every Kafka Restaurants service shares:
// start-up and graceful shutdown, JSON logging that never prints a card number, strict JSON
// request decoding, uniform {"code","message"} errors, request logging, the app API token
// check, and the adapter that mounts a Dapr topic handler on a chi router.
package service
