package arch

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "bbvault/"

// moduleRoot is two directories up from test/arch.
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", root, err)
	}
	return root
}

// packageImports maps every package directory under internal/ and cmd/
// (relative to root) to the module packages its non-test files import.
func packageImports(t *testing.T, root string) map[string]map[string]bool {
	t.Helper()
	pkgs := map[string]map[string]bool{}
	for _, top := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return err
			}
			dir, _ := filepath.Rel(root, filepath.Dir(p))
			dir = filepath.ToSlash(dir)
			if pkgs[dir] == nil {
				pkgs[dir] = map[string]bool{}
			}
			return addImports(p, pkgs[dir])
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return pkgs
}

func addImports(file string, into map[string]bool) error {
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ImportsOnly)
	if err != nil {
		return err
	}
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		if rest, ok := strings.CutPrefix(path, module); ok {
			into[rest] = true
		}
	}
	return nil
}

func layerOf() map[string]int {
	m := map[string]int{}
	for i, layer := range Layers {
		for _, p := range layer {
			m[p] = i
		}
	}
	return m
}

func TestEveryPackageHasALayer(t *testing.T) {
	layer := layerOf()
	for pkg := range packageImports(t, moduleRoot(t)) {
		if _, ok := layer[pkg]; !ok {
			t.Errorf("package %s has no layer: add it to Layers in test/arch/layers.go (and docs/ARCHITECTURE.md)", pkg)
		}
	}
	for pkg := range layer {
		if _, err := os.Stat(filepath.Join(moduleRoot(t), pkg)); err != nil {
			t.Errorf("Layers names %s, which does not exist", pkg)
		}
	}
}

func TestImportsPointDown(t *testing.T) {
	layer := layerOf()
	for pkg, imports := range packageImports(t, moduleRoot(t)) {
		from, ok := layer[pkg]
		if !ok {
			continue // reported by TestEveryPackageHasALayer
		}
		for imp := range imports {
			to, known := layer[imp]
			switch {
			case strings.HasPrefix(imp, "test/") || strings.HasPrefix(imp, "bench/"):
				t.Errorf("%s imports %s: production code must not depend on test or benchmark code", pkg, imp)
			case !known:
				t.Errorf("%s imports %s, which has no layer", pkg, imp)
			case to >= from:
				t.Errorf("%s (layer %d) imports %s (layer %d): imports must point to a lower layer", pkg, from, imp, to)
			}
		}
	}
}

// TestTheCheckCatchesAnUpwardImport proves the check is not vacuous: the
// repository engine importing the orchestration would be refused.
func TestTheCheckCatchesAnUpwardImport(t *testing.T) {
	layer := layerOf()
	if layer["internal/repo"] >= layer["internal/flow"] || layer["internal/maintenance"] != layer["internal/restorer"] {
		t.Fatal("the layer table no longer puts repo below flow, or maintenance beside restorer")
	}
	imports := packageImports(t, moduleRoot(t))
	if !imports["internal/flow"]["internal/repo"] || !imports["cmd/bbvault"]["internal/flow"] {
		t.Fatal("the import scan found no flow → repo or cmd → flow import: it is not reading the code")
	}
}
