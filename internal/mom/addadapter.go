package mom

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/atlas-gateway/atlas/internal/config"
	"github.com/atlas-gateway/atlas/internal/configedit"
)

type addAdapterOptions struct {
	file, name, baseURL string
	headers             stringList
}

func (e *env) addAdapterFlags(o *addAdapterOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("atlas config add-http-adapter", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.StringVar(&o.file, "f", "", "Atlas configuration `FILE` to edit (required)")
	fs.StringVar(&o.file, "file", "", "same as -f")
	fs.StringVar(&o.name, "adapter-name", "", "adapter `NAME`, served at /v1/apis/http/NAME/ (required)")
	fs.StringVar(&o.baseURL, "base-url", "", "upstream `URL`, e.g. https://api.stripe.com (required)")
	fs.Var(&o.headers, "H", "header to inject, `'Name: value'`; repeatable. Use ${{ ENV_VAR }} for secrets")
	fs.Var(&o.headers, "header", "same as -H")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: mom atlas config add-http-adapter -f FILE --adapter-name NAME --base-url URL [-H 'Name: value']...

Adds an HTTP adapter to an Atlas configuration file: an adapterRef at the end
of spec.apiAdapters and an HTTP adapter document at the end of the file. The
rest of the file is left byte for byte as it was.

Example:
  mom atlas config add-http-adapter -f atlas.yml --adapter-name stripe \
      --base-url https://api.stripe.com -H 'Authorization: Bearer ${{ STRIPE_API_KEY }}'

Flags:
`)
		fs.PrintDefaults()
	}
	return fs
}

func (e *env) addHTTPAdapter(_ context.Context, args []string) int {
	var o addAdapterOptions
	fs := e.addAdapterFlags(&o)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	switch {
	case fs.NArg() > 0:
		return e.usageError(fs, "unexpected argument %q; all inputs are flags", fs.Arg(0))
	case o.file == "":
		return e.usageError(fs, "-f FILE is required")
	case o.name == "":
		return e.usageError(fs, "--adapter-name is required")
	case o.baseURL == "":
		return e.usageError(fs, "--base-url is required")
	}
	a, err := o.adapter()
	if err != nil {
		return e.fail(err)
	}
	for _, h := range a.Headers {
		if !strings.Contains(h[1], "${{") {
			fmt.Fprintf(e.stderr, "mom: warning: header %s has no ${{ ENV_VAR }} reference, so its value is stored in %s as plain text; prefer -H '%s: … ${{ ENV_VAR }}'\n", h[0], o.file, h[0])
		}
	}
	if err := editFile(o.file, a); err != nil {
		return e.fail(err)
	}
	fmt.Fprintf(e.stdout, "Added HTTP adapter %q to %s: /v1/apis/http/%s/… now goes to %s\n", a.Name, o.file, a.Name, a.BaseURL)
	if vars := envRefs(a); len(vars) > 0 {
		fmt.Fprintf(e.stdout, "Set %s in the environment Atlas runs in, then deploy the updated configuration.\n", strings.Join(vars, ", "))
	}
	fmt.Fprintf(e.stdout, "Test it with: mom curl /v1/apis/http/%s/\n", a.Name)
	return exitOK
}

// adapter validates the flags with the same rules Atlas applies on load.
func (o *addAdapterOptions) adapter() (configedit.Adapter, error) {
	a := configedit.Adapter{Name: o.name, BaseURL: o.baseURL}
	if err := config.ValidateAdapterName(o.name); err != nil {
		return a, fmt.Errorf("--adapter-name: %w", err)
	}
	if !strings.Contains(o.baseURL, "${{") { // a reference is checked when Atlas loads the file
		if _, err := config.ParseBaseURL(o.baseURL); err != nil {
			return a, fmt.Errorf("--base-url: %w", err)
		}
	}
	seen := map[string]bool{}
	for i, raw := range o.headers {
		h, err := parseHeaderFlag(raw)
		if err != nil {
			return a, fmt.Errorf("-H #%d: %w", i+1, err)
		}
		if err := config.ValidateHeaderValue(h.value); err != nil {
			return a, fmt.Errorf("-H %s: %w", h.name, err)
		}
		if seen[strings.ToLower(h.name)] {
			return a, fmt.Errorf("-H %s is given twice; header names are case-insensitive", h.name)
		}
		seen[strings.ToLower(h.name)] = true
		a.Headers = append(a.Headers, [2]string{h.name, h.value})
	}
	return a, nil
}

type headerFlag struct{ name, value string }

// parseHeaderFlag splits curl-style 'Name: value'. Errors never repeat the
// value, which may be a secret.
func parseHeaderFlag(raw string) (headerFlag, error) {
	if strings.ContainsAny(raw, "\r\n\x00") {
		return headerFlag{}, errors.New("contains a CR, LF or NUL character; give one header per -H")
	}
	name, value, ok := strings.Cut(raw, ":")
	if !ok {
		return headerFlag{}, errors.New("has no ':'; write it as 'Name: value'")
	}
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if err := config.ValidateHeaderName(name); err != nil {
		return headerFlag{}, fmt.Errorf("%w; write it as 'Name: value'", err)
	}
	return headerFlag{name: name, value: value}, nil
}

var envRef = regexp.MustCompile(`\$\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}`)

// envRefs lists the environment variables the new adapter reads.
func envRefs(a configedit.Adapter) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range append([]string{a.BaseURL}, headerValues(a)...) {
		for _, m := range envRef.FindAllStringSubmatch(s, -1) {
			if !seen[m[1]] {
				seen[m[1]] = true
				out = append(out, m[1])
			}
		}
	}
	return out
}

func headerValues(a configedit.Adapter) []string {
	var out []string
	for _, h := range a.Headers {
		out = append(out, h[1])
	}
	return out
}

// editFile adds a to the configuration at path, atomically.
func editFile(path string, a configedit.Adapter) error {
	real, err := filepath.EvalSymlinks(path) // edit the target, keep the link
	if err != nil {
		return fmt.Errorf("read %s: %w (check -f)", path, err)
	}
	src, err := os.ReadFile(real)
	if err != nil {
		return fmt.Errorf("read %s: %w (check -f)", path, err)
	}
	out, err := configedit.AddHTTPAdapter(src, a)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := writeFileAtomic(real, out); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// writeFileAtomic replaces path with data through a temporary file in the
// same directory and a rename, keeping path's permission bits.
func writeFileAtomic(path string, data []byte) (err error) {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create a temporary file next to it: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Chmod(info.Mode().Perm()); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
