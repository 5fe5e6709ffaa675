package hearsay_test

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	pathpkg "path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestReadmeExample checks that the Go block of README.md's "Using it"
// section is the body of Example (example_test.go), which go test
// compiles and runs: the README cannot show code that does not build or
// does not do what it says.
func TestReadmeExample(t *testing.T) {
	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "example_test.go", src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	var body string
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == "Example" {
			lb, rb := fset.Position(fd.Body.Lbrace).Offset, fset.Position(fd.Body.Rbrace).Offset
			body = string(src[lb+1 : rb])
		}
	}
	if body == "" {
		t.Fatal("example_test.go has no func Example")
	}
	var lines []string
	for _, l := range strings.Split(strings.Trim(body, "\n"), "\n") {
		lines = append(lines, strings.TrimPrefix(l, "\t"))
	}
	want := strings.Join(lines, "\n")

	block := readmeBlock(t)
	if block != want {
		gl, wl := strings.Split(block, "\n"), strings.Split(want, "\n")
		for i := range max(len(gl), len(wl)) {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("README.md's Go block differs from Example's body (example_test.go), first at its line %d:\nREADME:  %q\nExample: %q\n"+
					"Copy the body of Example, one tab less, into README.md.", i+1, g, w)
			}
		}
	}
}

// readmeBlock returns the Go block of README.md's "Using it" section.
func readmeBlock(t *testing.T) string {
	t.Helper()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Using it\n")
	if !ok {
		t.Fatal(`README.md has no "## Using it" section`)
	}
	_, block, ok := strings.Cut(section, "```go\n")
	if ok {
		block, _, ok = strings.Cut(block, "\n```")
	}
	if !ok {
		t.Fatal(`README.md's "Using it" section has no Go block`)
	}
	return block
}

// TestReadmeProgram does what a user does with README's Go block: pastes
// it into the main function of a program of their own, in a module that
// requires this one (replaced by this tree), adds the imports it uses (of
// those example_test.go has), builds and runs it. The program must exit 0
// and print what the block's Output comment says.
func TestReadmeProgram(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a program")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	block := readmeBlock(t)
	_, output, ok := strings.Cut(block, "// Output:\n")
	if !ok {
		t.Fatal("README.md's Go block has no Output comment")
	}
	var want []string
	for _, l := range strings.Split(output, "\n") {
		want = append(want, strings.TrimPrefix(strings.TrimPrefix(l, "//"), " "))
	}

	// The imports of example_test.go that the block uses.
	f, err := parser.ParseFile(token.NewFileSet(), "example_test.go", nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	var imports []string
	for _, im := range f.Imports {
		path, _ := strconv.Unquote(im.Path.Value)
		if strings.Contains(block, pathpkg.Base(path)+".") {
			imports = append(imports, im.Path.Value)
		}
	}
	var src strings.Builder
	src.WriteString("package main\n\nimport (\n")
	for _, im := range imports {
		src.WriteString("\t" + im + "\n")
	}
	src.WriteString(")\n\nfunc main() {\n" + block + "\n}\n")

	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gomod := "module readme\n\ngo 1.26.0\n\nrequire github.com/hearsay-io/hearsay v0.0.0\n\n" +
		"replace github.com/hearsay-io/hearsay => " + root + "\n"
	sum, err := os.ReadFile("go.sum")
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string][]byte{"main.go": []byte(src.String()), "go.mod": []byte(gomod), "go.sum": sum} {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goCmd, "run", "-mod=mod", ".")
	cmd.Dir = dir
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go run README's block as a program: %v\nmain.go:\n%s\nstderr:\n%s", err, src.String(), stderr.String())
	}
	if got := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n"); !slices.Equal(got, want) {
		t.Errorf("README's block as a program printed %q, want %q (its Output comment)", got, want)
	}
}
