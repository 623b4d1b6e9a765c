package openaispec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// modulePath is openai-go's module.
const modulePath = "github.com/openai/openai-go/v3"

// module is the openai-go module that go.mod names, in the module cache.
type module struct {
	dir, version string

	mu    sync.Mutex
	files map[string][]byte // by path relative to dir

	endpoints func() (map[string]Endpoint, error) // readEndpoints, once
	consts    map[string][]string                 // stringConsts, by package and type
}

// openModule finds the module with the go command, as the build does, so
// that it follows go.mod (and any replace directive). It is found once
// per process.
var openModule = sync.OnceValues(findModule)

func findModule() (*module, error) {
	out, err := exec.Command("go", "list", "-m", "-json", modulePath).Output()
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return nil, fmt.Errorf("go list -m %s: %w: %s", modulePath, err, exitErr.Stderr)
		}
		return nil, fmt.Errorf("go list -m %s: %w", modulePath, err)
	}
	var m struct{ Dir, Version string }
	if err := json.Unmarshal(out, &m); err != nil {
		return nil, fmt.Errorf("go list -m %s: %w", modulePath, err)
	}
	if m.Dir == "" {
		return nil, fmt.Errorf("go list -m %s: the module is not in the module cache (go mod download)", modulePath)
	}
	mod := &module{dir: m.Dir, version: m.Version, files: map[string][]byte{}, consts: map[string][]string{}}
	mod.endpoints = sync.OnceValues(mod.readEndpoints)
	return mod, nil
}

// read returns a file of the module, read once.
func (m *module) read(rel string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if b, ok := m.files[rel]; ok {
		return b, nil
	}
	b, err := os.ReadFile(filepath.Join(m.dir, rel))
	if err != nil {
		return nil, fmt.Errorf("openai-go %s: %w", m.version, err)
	}
	m.files[rel] = b
	return b, nil
}

// shows checks that a file of the module holds q's text; a quote from
// outside the module is taken as it is.
func (m *module) shows(q quote) error {
	if q.file == "" {
		return nil
	}
	b, err := m.read(q.file)
	if err != nil {
		return err
	}
	if !bytes.Contains(b, []byte(q.text)) {
		return fmt.Errorf("openai-go %s no longer shows %q in %s", m.version, q.text, q.file)
	}
	return nil
}

// source names where q is shown.
func (m *module) source(q quote) string {
	if q.file == "" {
		return q.text
	}
	return fmt.Sprintf("openai-go %s %s: %s", m.version, q.file, q.text)
}

// apiEntry is a line of api.md naming a method and its request, once its
// links are reduced to their text, such as
// `<code title="get /batches/{batch_id}">client.Batches.Get(ctx ...`.
var apiEntry = regexp.MustCompile(`<code title="([a-z]+) ([^"]+)">(client\.[A-Za-z.]+)\(`)

var link = regexp.MustCompile(`<a href="[^"]*">([^<]*)</a>`)

// readEndpoints reads the endpoints of every api.md of the module, by
// method.
func (m *module) readEndpoints() (map[string]Endpoint, error) {
	files, err := filepath.Glob(filepath.Join(m.dir, "*", "api.md"))
	if err != nil {
		return nil, err
	}
	files = append(files, filepath.Join(m.dir, "api.md"))
	eps := map[string]Endpoint{}
	for _, f := range files {
		rel, _ := filepath.Rel(m.dir, f)
		b, err := m.read(rel)
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(link.ReplaceAllString(string(b), "$1"), "\n") {
			if e := apiEntry.FindStringSubmatch(line); e != nil {
				eps[e[3]] = Endpoint{Method: e[3], HTTPMethod: strings.ToUpper(e[1]), Path: e[2],
					Source: fmt.Sprintf("openai-go %s %s: %s %s", m.version, rel, e[1], e[2])}
			}
		}
	}
	if len(eps) == 0 {
		return nil, fmt.Errorf("openai-go %s: no endpoint in its api.md files: their format changed", m.version)
	}
	return eps, nil
}

// stringConsts returns the values of the constants of a string type
// declared in a package of the module (pkg relative to the module, "" for
// its root), in their order, parsed once.
func (m *module) stringConsts(pkg, typeName string) ([]string, error) {
	key := pkg + "." + typeName
	m.mu.Lock()
	values, ok := m.consts[key]
	m.mu.Unlock()
	if ok {
		return values, nil
	}
	values, err := m.parseConsts(pkg, typeName)
	if err == nil {
		m.mu.Lock()
		m.consts[key] = values
		m.mu.Unlock()
	}
	return values, err
}

// parseConsts parses the file of a package that declares a string type
// for its constants.
func (m *module) parseConsts(pkg, typeName string) ([]string, error) {
	dir := filepath.Join(m.dir, pkg)
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	decl := []byte("\ntype " + typeName + " string\n")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		rel, _ := filepath.Rel(m.dir, f)
		src, err := m.read(rel)
		if err != nil {
			return nil, err
		}
		if !bytes.Contains(src, decl) {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), f, src, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		values := constsOf(file, typeName)
		if len(values) == 0 {
			return nil, fmt.Errorf("openai-go %s: %s declares %s without constants", m.version, f, typeName)
		}
		return values, nil
	}
	return nil, fmt.Errorf("openai-go %s: no file of %s declares %s", m.version, dir, typeName)
}

// constsOf returns the string values of the constants of a type in a file.
func constsOf(file *ast.File, typeName string) []string {
	var values []string
	for _, d := range file.Decls {
		gen, ok := d.(*ast.GenDecl)
		if !ok || gen.Tok != token.CONST {
			continue
		}
		for _, spec := range gen.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != typeName {
				continue
			}
			for _, v := range vs.Values {
				if lit, ok := v.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil {
						values = append(values, s)
					}
				}
			}
		}
	}
	return values
}
