// Package notify tells people how an unattended run went: a generic JSON
// webhook, Slack, Discord and Microsoft Teams incoming webhooks, and e-mail
// over SMTP (docs/notifications.md).
//
// Delivery is best effort by design: Dispatch bounds every target by its
// timeout (retries included), sends to all targets at once, and reports
// failures to the caller for logging. A notification never fails or hangs
// the backup it reports on.
package notify
