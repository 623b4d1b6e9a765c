package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/caarlos0/env/v11"
	"github.com/openai/openai-go/v3/option"

	"github.com/hookbridge/hookbridge/internal/signing"
)

// Project is one OpenAI project that hookbridge serves: OpenAI configures
// webhooks per project, each with its own endpoint and signing secret, and
// a project's API key reads only that project's objects.
//
// The default project is configured by the plain variables
// (OPENAI_WEBHOOK_SECRET, OPENAI_API_KEY, ...) and served at RECEIVER_PATH.
// Each project named in HOOKBRIDGE_PROJECTS (comma-separated, e.g.
// "staging,team-a") is configured by the same variables prefixed with
// HOOKBRIDGE_PROJECT_<NAME>_ (the name upper-cased, '-' as '_'), e.g.
// HOOKBRIDGE_PROJECT_TEAM_A_OPENAI_API_KEY_FILE, and served at
// RECEIVER_PATH/<name>.
type Project struct {
	// Name is the project's name in hookbridge, "" for the default project.
	Name string
	// WebhookSecret holds the endpoint's signing secrets, one or more:
	// several during a rotation (comma-separated in the variable, one per
	// line in the file). Receiver only.
	WebhookSecret Secret
	// APIKey is the project's API key. Worker only.
	APIKey Secret
	// BaseURL is the API base URL; empty means the SDK's default.
	BaseURL string
	// Organization and ID are sent as OpenAI-Organization and
	// OpenAI-Project when set.
	Organization, ID string
}

// Secret is a secret given either as the value of a variable, or as a file
// named by the variable with _FILE appended (the Docker and Kubernetes
// convention), which the processes watch and re-read when it changes.
type Secret struct {
	// Variable is the variable's name, for messages: never the value.
	Variable string
	Value    string
	File     string
}

// IsSet reports whether the secret is given at all.
func (s Secret) IsSet() bool { return s.Value != "" || s.File != "" }

// projectVars are the variables of one project, read with its prefix.
type projectVars struct {
	WebhookSecret     string `env:"OPENAI_WEBHOOK_SECRET"`
	WebhookSecretFile string `env:"OPENAI_WEBHOOK_SECRET_FILE"`
	APIKey            string `env:"OPENAI_API_KEY"`
	APIKeyFile        string `env:"OPENAI_API_KEY_FILE"`
	BaseURL           string `env:"OPENAI_BASE_URL"`
	Organization      string `env:"OPENAI_ORGANIZATION"`
	ID                string `env:"OPENAI_PROJECT"`
}

// ProjectsVariable lists the projects besides the default one.
const ProjectsVariable = "HOOKBRIDGE_PROJECTS"

// projectName is what a project may be called: a path segment, a metric
// label and a search attribute value all at once.
var projectName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// ProjectPrefix is the prefix of the variables of the project named name.
func ProjectPrefix(name string) string {
	if name == "" {
		return ""
	}
	return "HOOKBRIDGE_PROJECT_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "_"
}

// ParseProjects reads the default project and those of HOOKBRIDGE_PROJECTS
// from environ (the process environment when nil), without requiring any
// secret: the receiver and worker check what each needs. The default
// project is left out when none of its variables is set and other projects
// are listed.
func ParseProjects(environ map[string]string) ([]Project, error) {
	names := []string{""}
	var errs []error
	for _, n := range strings.Split(lookup(environ, ProjectsVariable), ",") {
		n = strings.TrimSpace(n)
		switch {
		case n == "":
		case !projectName.MatchString(n):
			errs = append(errs, fmt.Errorf("%s: project name %q: want lower-case letters, digits and '-', at most 63", ProjectsVariable, n))
		case n == "default":
			errs = append(errs, fmt.Errorf("%s: \"default\" is the project of the plain variables; name the others", ProjectsVariable))
		default:
			names = append(names, n)
		}
	}
	var projects []Project
	for i, name := range names {
		prefix := ProjectPrefix(name)
		vars, err := env.ParseAsWithOptions[projectVars](env.Options{Environment: environ, Prefix: prefix})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p := Project{
			Name:          name,
			WebhookSecret: Secret{Variable: prefix + "OPENAI_WEBHOOK_SECRET", Value: vars.WebhookSecret, File: vars.WebhookSecretFile},
			APIKey:        Secret{Variable: prefix + "OPENAI_API_KEY", Value: vars.APIKey, File: vars.APIKeyFile},
			BaseURL:       vars.BaseURL,
			Organization:  vars.Organization,
			ID:            vars.ID,
		}
		if i == 0 && len(names) > 1 && !p.WebhookSecret.IsSet() && !p.APIKey.IsSet() && p.BaseURL == "" {
			continue
		}
		for _, s := range []Secret{p.WebhookSecret, p.APIKey} {
			if s.Value != "" && s.File != "" {
				errs = append(errs, fmt.Errorf("%s and %s_FILE are both set: give one", s.Variable, s.Variable))
			}
		}
		if p.BaseURL != "" {
			if u, err := url.Parse(p.BaseURL); err != nil || u.Scheme == "" || u.Host == "" {
				errs = append(errs, fmt.Errorf("%sOPENAI_BASE_URL must be an absolute URL, got %q", prefix, p.BaseURL))
			}
		}
		projects = append(projects, p)
	}
	return projects, errors.Join(errs...)
}

// checkWebhookSecrets checks that every project has signing secrets, and
// those given as values; those in files are checked as they are read.
func checkWebhookSecrets(projects []Project) error {
	var errs []error
	for _, p := range projects {
		if !p.WebhookSecret.IsSet() {
			errs = append(errs, fmt.Errorf("%s (or %s_FILE) is required", p.WebhookSecret.Variable, p.WebhookSecret.Variable))
			continue
		}
		if _, err := WebhookSecrets(p.WebhookSecret.Value, ","); p.WebhookSecret.Value != "" && err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p.WebhookSecret.Variable, err))
		}
	}
	return errors.Join(errs...)
}

// checkAPIAccess checks that every project can reach an OpenAI API.
func checkAPIAccess(projects []Project) error {
	var errs []error
	for _, p := range projects {
		if !p.APIKey.IsSet() && p.BaseURL == "" {
			errs = append(errs, fmt.Errorf("%s (or %s_FILE) is required (or %sOPENAI_BASE_URL pointing at an OpenAI simulator)",
				p.APIKey.Variable, p.APIKey.Variable, ProjectPrefix(p.Name)))
		}
	}
	return errors.Join(errs...)
}

// WebhookSecrets splits a list of signing secrets (sep: "," in a variable,
// "\n" in a file, where blank lines and lines starting with # are left
// out) and checks each, without ever echoing one: messages reach logs.
func WebhookSecrets(list, sep string) ([]string, error) {
	var secrets []string
	var errs []error
	for _, s := range strings.Split(list, sep) {
		s = strings.TrimSpace(s)
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		if _, err := signing.DecodeSecret(s); err != nil {
			errs = append(errs, fmt.Errorf("secret %d: %w", len(secrets)+len(errs)+1, err))
			continue
		}
		secrets = append(secrets, s)
	}
	if len(secrets)+len(errs) == 0 {
		return nil, errors.New("no secret")
	}
	return secrets, errors.Join(errs...)
}

// lookup reads a variable from environ, or the process environment when
// environ is nil, as env.Options does.
func lookup(environ map[string]string, name string) string {
	if environ == nil {
		return os.Getenv(name)
	}
	return environ[name]
}

// DefaultOpenAIBaseURL is OpenAI's API.
const DefaultOpenAIBaseURL = "https://api.openai.com/v1/"

// simulatorAPIKey stands in when a project without a key points at an
// OpenAI simulator, which only checks that one is sent.
const simulatorAPIKey = "sk-hookbridge-simulator"

// OpenAIOptions returns the openai-go options of the project's client with
// apiKey: its base URL, organization and project headers, and no retries
// (Temporal makes them). Every setting is explicit, because openai-go
// would otherwise take OPENAI_BASE_URL, OPENAI_ORG_ID and OPENAI_PROJECT_ID
// from the environment for every project alike.
func (p Project) OpenAIOptions(apiKey string) []option.RequestOption {
	if apiKey == "" {
		apiKey = simulatorAPIKey
	}
	baseURL := p.BaseURL
	if baseURL == "" {
		baseURL = DefaultOpenAIBaseURL
	}
	opts := []option.RequestOption{option.WithAPIKey(apiKey), option.WithMaxRetries(0), option.WithBaseURL(baseURL)}
	if p.Organization != "" {
		opts = append(opts, option.WithOrganization(p.Organization))
	} else {
		opts = append(opts, option.WithHeaderDel("OpenAI-Organization"))
	}
	if p.ID != "" {
		opts = append(opts, option.WithProject(p.ID))
	} else {
		opts = append(opts, option.WithHeaderDel("OpenAI-Project"))
	}
	return opts
}
