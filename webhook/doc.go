// Package webhook sends wxlogin's events to the business system's webhook
// endpoints. It owns the payloads' JSON form and the sending side of the
// outbox: auth writes each event's deliveries (one per subscribed
// endpoint, built by Dispatcher.Deliveries) in the store transaction of the
// change, and the Dispatcher claims due deliveries with a lease, POSTs them
// signed with the endpoint's secret (package webhooksig), and records the
// outcome, retrying with capped exponential backoff and jitter for a day
// before it marks a delivery failed.
//
// Delivery is at least once: a crash after the endpoint answered and before
// the outcome was recorded sends the delivery again once its lease ends.
// Receivers drop event ids they have seen (X-Wxlogin-Event-Id).
package webhook
