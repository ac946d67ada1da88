package main

// The fake Discord in these tests validates every request body against
// Discord's OpenAPI spec (the fake refuses to run in a test binary without).
import _ "github.com/intakebot/intakebot/bot/discordfake/schema"
