// Package config loads intakebot's configuration from the environment and an
// optional file, applies defaults and validates it. Config is a value passed
// down from main; nothing here is global.
package config

import (
	"bufio"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Config is intakebot's configuration.
type Config struct {
	// DataDir holds the database and, by default, the key file and log.
	DataDir string
	// PromptsDir overrides the embedded content; "" uses the embedded copy.
	PromptsDir string
	// DataKey is the base64 data key. Secret: never logged or printed.
	DataKey string
	// KeyFile is used when DataKey is empty.
	KeyFile string
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// LogFile receives logs; "" means standard error, except for the
	// interactive chat, which logs to DataDir/intakebot.log so logs do not
	// interleave with the conversation.
	LogFile string
	// The optional language model (any OpenAI-compatible server). It is used
	// when LLMBaseURL or LLMKey is set; it only rephrases approved answers.
	LLMBaseURL string
	LLMKey     string // secret
	LLMModel   string
	LLMTimeout time.Duration
	// Discord.
	DiscordToken string // secret
	GuildID      string // register commands in this guild; "" registers them globally
	// DiscordURL sends all Discord traffic to another base URL (a loopback
	// Discord for tests and the demo).
	DiscordURL string
	// StaffChannelID is the private channel where case cards are posted.
	StaffChannelID string
	// StaffRoleIDs are the roles allowed to act on cases.
	StaffRoleIDs []string
	// OncallRoleID is mentioned when an urgent case is paged.
	OncallRoleID string
	// PageInterval is how often an unclaimed urgent case is paged again;
	// PageLimit is how many pages go to on-call before they escalate to
	// every staff role.
	PageInterval time.Duration
	PageLimit    int
	// StaffCard is "" (no scores on cards) or "scores".
	StaffCard string
	// AbandonAfter is how long a screening may sit untouched before answers
	// that already call for staff (a suicide-screen "yes") open a case.
	AbandonAfter time.Duration
	// Retention is how long finished screenings and closed cases are kept;
	// a daily sweep erases what is older.
	Retention time.Duration
	// The staff web console: where it listens, its public address (the
	// clinic's HTTPS proxy), and the Discord OAuth2 application staff
	// sign in with. The console is on when the client id is set.
	ConsoleAddr       string
	ConsoleURL        string
	OAuthClientID     string
	OAuthClientSecret string // secret
}

// ConsoleEnabled reports whether the staff web console is configured.
func (c Config) ConsoleEnabled() bool {
	return c.OAuthClientID != "" || c.OAuthClientSecret != "" || c.ConsoleURL != ""
}

// ConsolePublicURL is where staff reach the console: INTAKEBOT_CONSOLE_URL,
// or the listening address itself.
func (c Config) ConsolePublicURL() string {
	if c.ConsoleURL != "" {
		return strings.TrimRight(c.ConsoleURL, "/")
	}
	return "http://" + c.ConsoleAddr
}

// ValidateConsole reports what the staff console needs and lacks.
func (c Config) ValidateConsole() error {
	var errs []error
	if c.OAuthClientID == "" || c.OAuthClientSecret == "" {
		errs = append(errs, errors.New("the staff console needs INTAKEBOT_OAUTH_CLIENT_ID and INTAKEBOT_OAUTH_CLIENT_SECRET: Discord developer portal, your application, OAuth2 (Client ID, Reset Secret), and add INTAKEBOT_CONSOLE_URL/oauth/callback as a redirect"))
	}
	if c.GuildID == "" {
		errs = append(errs, errors.New("the staff console needs INTAKEBOT_GUILD_ID: staff are admitted by their roles in the clinic's server"))
	}
	if len(c.StaffRoleIDs) == 0 {
		errs = append(errs, errors.New("the staff console needs INTAKEBOT_STAFF_ROLE_IDS: the roles admitted"))
	}
	u, err := url.Parse(c.ConsolePublicURL())
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/"):
		errs = append(errs, fmt.Errorf("INTAKEBOT_CONSOLE_URL %q: want the console's address, such as https://staff.clinic.example", c.ConsoleURL))
	case u.Scheme == "http" && !loopbackHost(u.Hostname()):
		errs = append(errs, fmt.Errorf("INTAKEBOT_CONSOLE_URL %q: the console shows health information, so outside this machine it must be served over HTTPS (put a proxy such as Caddy in front and set an https:// address)", c.ConsoleURL))
	}
	return errors.Join(errs...)
}

func loopbackHost(h string) bool {
	return h == "localhost" || h == "127.0.0.1" || h == "::1" || strings.HasPrefix(h, "127.")
}

// LLMEnabled reports whether a model is configured.
func (c Config) LLMEnabled() bool { return c.LLMBaseURL != "" || c.LLMKey != "" }

// Variables lists the environment variables Load reads, for help text.
var Variables = []struct{ Name, Help string }{
	{"INTAKEBOT_CONFIG", "a file of NAME=value lines with any of the variables below; the environment wins"},
	{"INTAKEBOT_DATA_DIR", "data directory (database, key file, chat log); default " + DefaultDataDir()},
	{"INTAKEBOT_PROMPTS_DIR", "directory overriding the embedded prompts/ content"},
	{"INTAKEBOT_DATA_KEY", "base64 32-byte data key; overrides the key file"},
	{"INTAKEBOT_KEY_FILE", "key file; default DATA_DIR/data.key"},
	{"INTAKEBOT_LOG_LEVEL", "debug, info (default), warn or error"},
	{"INTAKEBOT_LOG_FILE", "log file; default standard error (the chat logs to DATA_DIR/intakebot.log)"},
	{"INTAKEBOT_LLM_BASE_URL", "OpenAI-compatible server, e.g. http://127.0.0.1:11434/v1; with OPENAI_API_KEY, enables the model"},
	{"OPENAI_API_KEY", "API key for the model server (secret; never logged)"},
	{"INTAKEBOT_LLM_MODEL", "model name; default gpt-4o-mini"},
	{"INTAKEBOT_LLM_TIMEOUT", "deadline for one model answer, retry included; default 8s"},
	{"DISCORD_TOKEN", "the bot's token from the Discord developer portal (secret; never logged); needed by run"},
	{"INTAKEBOT_GUILD_ID", "the clinic's server id: slash commands are registered there (instantly) instead of globally"},
	{"INTAKEBOT_DISCORD_URL", "send all Discord traffic to this base URL instead (a loopback Discord, for tests)"},
	{"INTAKEBOT_STAFF_CHANNEL_ID", "the private staff channel where case cards are posted"},
	{"INTAKEBOT_STAFF_ROLE_IDS", "comma-separated role ids allowed to act on cases; needed by run"},
	{"INTAKEBOT_ONCALL_ROLE_ID", "the role paged about urgent cases; needed by run"},
	{"INTAKEBOT_PAGE_INTERVAL", "how often an unclaimed urgent case is paged again; default 5m"},
	{"INTAKEBOT_PAGE_LIMIT", "pages to the on-call role before every staff role is paged; default 3"},
	{"INTAKEBOT_ABANDON_AFTER", "a screening left this long after an answer that needs staff (a suicide-screen yes) opens a case; default 30m"},
	{"INTAKEBOT_RETENTION", "how long finished screenings and closed cases are kept (e.g. 365d, 2160h, at least 1d); default 365d"},
	{"INTAKEBOT_CONSOLE_ADDR", "where the staff web console listens; default 127.0.0.1:8080"},
	{"INTAKEBOT_CONSOLE_URL", "the console's public address (an https:// proxy in front of it); default http://CONSOLE_ADDR"},
	{"INTAKEBOT_OAUTH_CLIENT_ID", "the Discord application's OAuth2 client id: turns the staff web console on"},
	{"INTAKEBOT_OAUTH_CLIENT_SECRET", "the Discord application's OAuth2 client secret (secret; never logged)"},
	{"INTAKEBOT_STAFF_CARD", "\"scores\" adds instrument scores and bands to case cards; default: no scores (see the README's Privacy)"},
}

// Load reads the configuration: the file named by INTAKEBOT_CONFIG if set,
// then the environment, which overrides the file.
func Load(getenv func(string) string) (Config, error) {
	vals := map[string]string{}
	if path := getenv("INTAKEBOT_CONFIG"); path != "" {
		fv, err := readFile(path)
		if err != nil {
			return Config{}, err
		}
		vals = fv
	}
	get := func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return vals[k]
	}
	c := Config{
		DataDir:        get("INTAKEBOT_DATA_DIR"),
		PromptsDir:     get("INTAKEBOT_PROMPTS_DIR"),
		DataKey:        get("INTAKEBOT_DATA_KEY"),
		KeyFile:        get("INTAKEBOT_KEY_FILE"),
		LogLevel:       get("INTAKEBOT_LOG_LEVEL"),
		LogFile:        get("INTAKEBOT_LOG_FILE"),
		LLMBaseURL:     get("INTAKEBOT_LLM_BASE_URL"),
		LLMKey:         get("OPENAI_API_KEY"),
		LLMModel:       get("INTAKEBOT_LLM_MODEL"),
		DiscordToken:   get("DISCORD_TOKEN"),
		GuildID:        get("INTAKEBOT_GUILD_ID"),
		DiscordURL:     get("INTAKEBOT_DISCORD_URL"),
		StaffChannelID: get("INTAKEBOT_STAFF_CHANNEL_ID"),
		OncallRoleID:   get("INTAKEBOT_ONCALL_ROLE_ID"),
		StaffCard:      get("INTAKEBOT_STAFF_CARD"),
	}
	c.ConsoleAddr, c.ConsoleURL = get("INTAKEBOT_CONSOLE_ADDR"), get("INTAKEBOT_CONSOLE_URL")
	c.OAuthClientID, c.OAuthClientSecret = get("INTAKEBOT_OAUTH_CLIENT_ID"), get("INTAKEBOT_OAUTH_CLIENT_SECRET")
	if v := get("INTAKEBOT_PAGE_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute {
			return c, fmt.Errorf("INTAKEBOT_PAGE_INTERVAL %q: use a duration of at least 1m, such as 5m", v)
		}
		c.PageInterval = d
	}
	if v := get("INTAKEBOT_ABANDON_AFTER"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute || d > 24*time.Hour {
			return c, fmt.Errorf("INTAKEBOT_ABANDON_AFTER %q: use a duration from 1m to 24h, such as 30m", v)
		}
		c.AbandonAfter = d
	}
	if v := get("INTAKEBOT_RETENTION"); v != "" {
		d, err := ParseDays(v)
		if err != nil || d < 24*time.Hour {
			return c, fmt.Errorf("INTAKEBOT_RETENTION %q: use a duration of at least a day, such as 365d or 2160h", v)
		}
		c.Retention = d
	}
	if v := get("INTAKEBOT_PAGE_LIMIT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return c, fmt.Errorf("INTAKEBOT_PAGE_LIMIT %q: use a whole number from 1 to 100", v)
		}
		c.PageLimit = n
	}
	for _, r := range strings.Split(get("INTAKEBOT_STAFF_ROLE_IDS"), ",") {
		if r = strings.TrimSpace(r); r != "" {
			c.StaffRoleIDs = append(c.StaffRoleIDs, r)
		}
	}
	if v := get("INTAKEBOT_LLM_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("INTAKEBOT_LLM_TIMEOUT %q: use a duration such as 8s", v)
		}
		c.LLMTimeout = d
	}
	return c, nil
}

func readFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	defer f.Close()
	known := map[string]bool{}
	for _, v := range Variables {
		known[v.Name] = true
	}
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k, v = strings.TrimSpace(k), strings.Trim(strings.TrimSpace(v), `"'`)
		switch {
		case !ok:
			return nil, fmt.Errorf("%s:%d: want NAME=value", path, n)
		case !known[k]:
			return nil, fmt.Errorf("%s:%d: unknown setting %q", path, n, k)
		}
		out[k] = v
	}
	return out, sc.Err()
}

// WithDefaults fills in defaults for empty fields.
func (c Config) WithDefaults() Config {
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir()
	}
	if c.KeyFile == "" {
		c.KeyFile = filepath.Join(c.DataDir, "data.key")
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	if c.LLMModel == "" {
		c.LLMModel = "gpt-4o-mini"
	}
	if c.LLMTimeout == 0 {
		c.LLMTimeout = 8 * time.Second
	}
	if c.PageInterval == 0 {
		c.PageInterval = 5 * time.Minute
	}
	if c.PageLimit == 0 {
		c.PageLimit = 3
	}
	if c.AbandonAfter == 0 {
		c.AbandonAfter = 30 * time.Minute
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.ConsoleAddr == "" {
		c.ConsoleAddr = DefaultConsoleAddr
	}
	return c
}

// DefaultConsoleAddr is where the staff console listens by default: this
// machine only.
const DefaultConsoleAddr = "127.0.0.1:8080"

// DefaultRetention keeps finished screenings and closed cases a year.
const DefaultRetention = 365 * 24 * time.Hour

// ParseDays parses a Go duration, or a whole number of days ("365d").
func ParseDays(v string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(strings.TrimSpace(v), "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > 100*365 {
			return 0, fmt.Errorf("%q is not a number of days", v)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return time.ParseDuration(v)
}

// Validate reports every problem with the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("INTAKEBOT_DATA_DIR is empty"))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("INTAKEBOT_LOG_LEVEL %q: use debug, info, warn or error", c.LogLevel))
	}
	if c.LLMBaseURL != "" {
		if u, err := url.Parse(c.LLMBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("INTAKEBOT_LLM_BASE_URL %q: want an http(s) URL such as http://127.0.0.1:11434/v1", c.LLMBaseURL))
		}
	}
	if c.StaffCard != "" && c.StaffCard != "scores" {
		errs = append(errs, fmt.Errorf("INTAKEBOT_STAFF_CARD %q: leave it empty, or set \"scores\" to show scores on case cards", c.StaffCard))
	}
	if c.PromptsDir != "" {
		if fi, err := os.Stat(c.PromptsDir); err != nil || !fi.IsDir() {
			errs = append(errs, fmt.Errorf("INTAKEBOT_PROMPTS_DIR %q is not a directory", c.PromptsDir))
		}
	}
	return errors.Join(errs...)
}

var snowflake = regexp.MustCompile(`^[0-9]{17,20}$`)

// ValidateDiscord reports what `intakebot run` needs and lacks, before any
// connection is made.
func (c Config) ValidateDiscord() error {
	var errs []error
	switch t := strings.TrimSpace(c.DiscordToken); {
	case t == "":
		errs = append(errs, errors.New("DISCORD_TOKEN is not set: create an application and bot in the Discord developer portal, copy the bot's token, and set DISCORD_TOKEN to it (in the environment or in the INTAKEBOT_CONFIG file)"))
	case strings.ContainsAny(t, " \t\n"):
		errs = append(errs, errors.New("DISCORD_TOKEN contains spaces: paste the bot token alone, without \"Bot \""))
	}
	if c.GuildID != "" && !snowflake.MatchString(c.GuildID) {
		errs = append(errs, fmt.Errorf("INTAKEBOT_GUILD_ID %q is not a Discord id (17 to 20 digits; enable Developer Mode and use Copy Server ID)", c.GuildID))
	}
	// Every case must reach someone: the staff side is not optional.
	switch {
	case c.StaffChannelID == "":
		errs = append(errs, errors.New("INTAKEBOT_STAFF_CHANNEL_ID is not set: create a private channel for the care team, right-click it and Copy Channel ID (Developer Mode on); case cards are posted there"))
	case !snowflake.MatchString(c.StaffChannelID):
		errs = append(errs, fmt.Errorf("INTAKEBOT_STAFF_CHANNEL_ID %q is not a Discord id (17 to 20 digits; right-click the channel and Copy Channel ID)", c.StaffChannelID))
	}
	for _, r := range c.StaffRoleIDs {
		if !snowflake.MatchString(r) {
			errs = append(errs, fmt.Errorf("INTAKEBOT_STAFF_ROLE_IDS: %q is not a Discord role id (17 to 20 digits; Server Settings, Roles, Copy Role ID)", r))
		}
	}
	if len(c.StaffRoleIDs) == 0 {
		errs = append(errs, errors.New("INTAKEBOT_STAFF_ROLE_IDS is not set: list the roles allowed to act on cases (comma-separated role ids; Server Settings, Roles, Copy Role ID)"))
	}
	switch {
	case c.OncallRoleID == "":
		errs = append(errs, errors.New("INTAKEBOT_ONCALL_ROLE_ID is not set: the role paged about urgent cases (Server Settings, Roles, Copy Role ID)"))
	case !snowflake.MatchString(c.OncallRoleID):
		errs = append(errs, fmt.Errorf("INTAKEBOT_ONCALL_ROLE_ID %q is not a Discord role id (17 to 20 digits)", c.OncallRoleID))
	}
	if c.DiscordURL != "" {
		if u, err := url.Parse(c.DiscordURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("INTAKEBOT_DISCORD_URL %q: want an http(s) URL", c.DiscordURL))
		}
	}
	return errors.Join(errs...)
}

// DBPath is the SQLite database file.
func (c Config) DBPath() string { return filepath.Join(c.DataDir, "intakebot.db") }

// DefaultDataDir is the per-user data directory: $XDG_DATA_HOME/intakebot,
// ~/.local/share/intakebot, or the OS's user config directory elsewhere.
func DefaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "intakebot")
	}
	if runtime.GOOS != "windows" && runtime.GOOS != "darwin" {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, ".local", "share", "intakebot")
		}
	}
	if d, err := os.UserConfigDir(); err == nil {
		return filepath.Join(d, "intakebot")
	}
	return ".intakebot"
}
