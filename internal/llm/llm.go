// Package llm is intakebot's only importer of go-openai. It asks any
// OpenAI-compatible server to rephrase approved knowledge-base passages for a
// patient's question, and accepts the reply only if it is well-formed, cites
// only the passages it was given, fits the length limit and introduces no
// number (a dose, a price, a time) that its sources do not contain. Anything
// else is an error with a reason, and the caller falls back to the approved
// text. The model never decides anything about safety.
package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/intakebot/intakebot/internal/intake"
)

// Defaults.
const (
	DefaultTimeout   = 8 * time.Second
	DefaultModel     = "gpt-4o-mini"
	DefaultMaxLength = 1200
	// DeadlineHeader carries the request's deadline (RFC 3339) so the server
	// and its operators can see how long the client will wait.
	DeadlineHeader = "X-Intakebot-Deadline"
)

// Config configures a Client.
type Config struct {
	BaseURL string // "" means OpenAI's
	APIKey  string // "" sends no Authorization header (local servers)
	Model   string
	Timeout time.Duration // whole call, retry included
	// RiskTimeout bounds the second opinion on safety (default 1.5s).
	RiskTimeout time.Duration
	MaxLength   int // characters of answer
	// System is the system prompt, already rendered with the clinic's facts.
	System string
	Logger *slog.Logger
	// Backoff is the wait before the one retry of a 429 or 5xx (default 500ms).
	Backoff time.Duration
	// HTTPClient is the transport (tests); nil means http.DefaultClient.
	HTTPClient *http.Client
}

// Client answers questions from passages.
type Client struct {
	api *openai.Client
	cfg Config
}

// New returns a client; it makes no network call.
func New(cfg Config) *Client {
	if cfg.Model == "" {
		cfg.Model = DefaultModel
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxLength <= 0 {
		cfg.MaxLength = DefaultMaxLength
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	oc := openai.DefaultConfig(cfg.APIKey)
	if cfg.BaseURL != "" {
		oc.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	oc.HTTPClient = &http.Client{Transport: deadlineTransport{next: transportOf(hc)}, Timeout: cfg.Timeout + time.Second}
	return &Client{api: openai.NewClientWithConfig(oc), cfg: cfg}
}

func transportOf(c *http.Client) http.RoundTripper {
	if c.Transport != nil {
		return c.Transport
	}
	return http.DefaultTransport
}

// deadlineTransport stamps each request with its context deadline.
type deadlineTransport struct{ next http.RoundTripper }

func (t deadlineTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if d, ok := r.Context().Deadline(); ok {
		r = r.Clone(r.Context())
		r.Header.Set(DeadlineHeader, d.UTC().Format(time.RFC3339Nano))
	}
	return t.next.RoundTrip(r)
}

// Error is a rejected or failed model answer. Reason is safe to log: it never
// holds the question or the answer.
type Error struct {
	reason string
	err    error
}

func (e *Error) Error() string {
	if e.err != nil {
		return "model answer rejected: " + e.reason + ": " + e.err.Error()
	}
	return "model answer rejected: " + e.reason
}

// Reason is a short, text-free reason for logs.
func (e *Error) Reason() string { return e.reason }
func (e *Error) Unwrap() error  { return e.err }

func reject(reason string, err error) error { return &Error{reason: reason, err: err} }

// Answer asks the model to answer question from passages and validates the
// reply. It retries a 429 or 5xx once, within the deadline.
func (c *Client) Answer(ctx context.Context, question string, passages []intake.Passage) (intake.Grounded, error) {
	if len(passages) == 0 {
		return intake.Grounded{}, reject("no_passages", nil)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req := c.request(question, passages)
	var resp openai.ChatCompletionResponse
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		resp, err = c.api.CreateChatCompletion(ctx, req)
		if err == nil || attempt == 1 || !retryable(err) {
			break
		}
		select {
		case <-time.After(c.cfg.Backoff):
		case <-ctx.Done():
		}
	}
	switch {
	case err != nil && ctx.Err() != nil:
		return intake.Grounded{}, reject("timeout", ctx.Err())
	case err != nil:
		return intake.Grounded{}, reject("server_error", err)
	case len(resp.Choices) == 0:
		return intake.Grounded{}, reject("no_choices", nil)
	case resp.Choices[0].FinishReason != openai.FinishReasonStop && resp.Choices[0].FinishReason != "":
		return intake.Grounded{}, reject("unfinished", nil)
	}
	return c.validate(resp.Choices[0].Message.Content, passages)
}

func retryable(err error) bool {
	var api *openai.APIError
	var re *openai.RequestError
	code := 0
	switch {
	case errors.As(err, &api):
		code = api.HTTPStatusCode
	case errors.As(err, &re):
		code = re.HTTPStatusCode
	}
	return code == http.StatusTooManyRequests || code >= 500
}

// Untrusted patient text is fenced; anything that could close the fence is
// neutralised.
var fence = strings.NewReplacer("<", "‹", ">", "›")

func (c *Client) request(question string, passages []intake.Passage) openai.ChatCompletionRequest {
	var b strings.Builder
	b.WriteString("PASSAGES:\n")
	for _, p := range passages {
		fmt.Fprintf(&b, "[id: %s] %s\n%s\n\n", p.ID, p.Title, p.Text)
	}
	return openai.ChatCompletionRequest{
		Model:       c.cfg.Model,
		Temperature: 0.2,
		MaxTokens:   600,
		ResponseFormat: &openai.ChatCompletionResponseFormat{
			Type: openai.ChatCompletionResponseFormatTypeJSONObject,
		},
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: c.cfg.System + "\n\n" + b.String()},
			{Role: openai.ChatMessageRoleUser, Content: "<patient_question>\n" + fence.Replace(question) + "\n</patient_question>"},
		},
	}
}

type reply struct {
	Answer  string   `json:"answer"`
	Sources []string `json:"sources"`
}

var number = regexp.MustCompile(`\d+(?:[.,]\d+)?`)

// validate accepts a reply only if it is JSON of the agreed shape, cites only
// given passages, fits the length limit, repeats nothing of the system
// prompt and has no number its cited passages lack.
func (c *Client) validate(content string, passages []intake.Passage) (intake.Grounded, error) {
	content = strings.TrimSpace(content)
	content = strings.TrimPrefix(strings.TrimSuffix(content, "```"), "```json")
	var r reply
	dec := json.NewDecoder(strings.NewReader(content))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return intake.Grounded{}, reject("malformed_json", nil)
	}
	r.Answer = strings.TrimSpace(r.Answer)
	if r.Answer == "" {
		return intake.Grounded{}, reject("empty_answer", nil)
	}
	if len(r.Sources) == 0 {
		return intake.Grounded{}, reject("no_sources", nil)
	}
	given := map[string]intake.Passage{}
	for _, p := range passages {
		given[p.ID] = p
	}
	var cited strings.Builder
	seen := map[string]bool{}
	var sources []string
	for _, id := range r.Sources {
		p, ok := given[id]
		if !ok {
			return intake.Grounded{}, reject("unknown_source", nil)
		}
		if !seen[id] {
			seen[id] = true
			sources = append(sources, id)
			cited.WriteString(p.Text + "\n" + p.Title + "\n")
		}
	}
	if n := len([]rune(r.Answer)); n > c.cfg.MaxLength {
		return intake.Grounded{}, reject("too_long", nil)
	}
	if leaksPrompt(r.Answer, c.cfg.System) {
		return intake.Grounded{}, reject("prompt_leak", nil)
	}
	have := map[string]bool{}
	for _, n := range number.FindAllString(cited.String(), -1) {
		have[n] = true
	}
	for _, n := range number.FindAllString(r.Answer, -1) {
		if !have[n] {
			return intake.Grounded{}, reject("number_not_in_sources", nil)
		}
	}
	return intake.Grounded{Text: r.Answer, Sources: sources}, nil
}

// leaksPrompt reports whether answer repeats any run of eight words of the
// system prompt.
func leaksPrompt(answer, system string) bool {
	norm := func(s string) []string { return strings.Fields(strings.ToLower(strings.Map(keepWord, s))) }
	a := " " + strings.Join(norm(answer), " ") + " "
	w := norm(system)
	const run = 8
	for i := 0; i+run <= len(w); i++ {
		if strings.Contains(a, " "+strings.Join(w[i:i+run], " ")+" ") {
			return true
		}
	}
	return false
}

func keepWord(r rune) rune {
	if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
		return r
	}
	return ' '
}
