// The Go program that reads Go sources for the build: it parses every listed file with go/parser
// and reports its package name, whether it is part of a GOOS=wasip1 GOARCH=wasm build (file name
// suffixes and //go:build lines, via go/build), its exported HTTP handler functions and which
// Serve functions it calls. It uses the standard library only; scanner.ts compiles it once per
// Go version into the build cache.
//
// Input (stdin, JSON): {"Root": "/abs/dir", "Files": ["api/a.go", ...], "Tags": ["x"]}
// Output (stdout, JSON): [{"Path", "Package", "Match", "Handlers", "Serves", "Error"}, ...]

export const SCANNER_SOURCE = String.raw`// Command scan reports, for each listed Go file, what the wasi-adapter build needs to know.
package main

import (
	"encoding/json"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
)

type input struct {
	Root  string
	Files []string
	Tags  []string
}

type fileInfo struct {
	Path     string
	Package  string
	Match    bool
	Handlers []string
	Serves   []string
	Error    string
}

const (
	netHTTP     = "net/http"
	netHTTPCGI  = "net/http/cgi"
	wasiAdapter = "github.com/wasi-adapter/wasi-adapter/go/wasiadapter"
)

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		os.Stderr.WriteString("scan: bad input: " + err.Error() + "\n")
		os.Exit(2)
	}
	ctxt := build.Default
	ctxt.GOOS = "wasip1"
	ctxt.GOARCH = "wasm"
	ctxt.CgoEnabled = false
	ctxt.BuildTags = in.Tags
	out := make([]fileInfo, 0, len(in.Files))
	for _, rel := range in.Files {
		out = append(out, scanFile(&ctxt, in.Root, rel))
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(out); err != nil {
		os.Exit(1)
	}
}

func scanFile(ctxt *build.Context, root, rel string) fileInfo {
	info := fileInfo{Path: rel, Handlers: []string{}, Serves: []string{}}
	abs := filepath.Join(root, filepath.FromSlash(rel))
	match, err := ctxt.MatchFile(filepath.Dir(abs), filepath.Base(abs))
	if err != nil {
		info.Error = err.Error()
		return info
	}
	info.Match = match
	src, err := os.ReadFile(abs)
	if err != nil {
		info.Error = err.Error()
		return info
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, rel, src, parser.SkipObjectResolution)
	if err != nil {
		info.Error = err.Error()
		if f == nil || f.Name == nil {
			return info
		}
	}
	info.Package = f.Name.Name

	// Local names of the imports that matter ("." for a dot import).
	names := map[string]string{}
	for _, spec := range f.Imports {
		path, err := strconv.Unquote(spec.Path.Value)
		if err != nil {
			continue
		}
		switch path {
		case netHTTP:
			names[netHTTP] = localName(spec, "http")
		case netHTTPCGI:
			names[netHTTPCGI] = localName(spec, "cgi")
		case wasiAdapter:
			names[wasiAdapter] = localName(spec, "wasiadapter")
		}
	}

	if httpName, ok := names[netHTTP]; ok {
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !fn.Name.IsExported() || fn.Type.TypeParams != nil {
				continue
			}
			if isHandlerSignature(fn.Type, httpName) {
				info.Handlers = append(info.Handlers, fn.Name.Name)
			}
		}
	}

	seen := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		for _, kind := range []struct{ path, label string }{{netHTTPCGI, "cgi"}, {wasiAdapter, "wasiadapter"}} {
			name, imported := names[kind.path]
			if imported && isCallTo(call.Fun, name, "Serve") && !seen[kind.label] {
				seen[kind.label] = true
				info.Serves = append(info.Serves, kind.label)
			}
		}
		return true
	})
	return info
}

func localName(spec *ast.ImportSpec, def string) string {
	if spec.Name != nil {
		return spec.Name.Name
	}
	return def
}

// isHandlerSignature reports whether t is func(http.ResponseWriter, *http.Request) with no results.
func isHandlerSignature(t *ast.FuncType, httpName string) bool {
	if t.Results != nil && len(t.Results.List) > 0 {
		return false
	}
	var params []ast.Expr
	for _, field := range t.Params.List {
		n := len(field.Names)
		if n == 0 {
			n = 1
		}
		for i := 0; i < n; i++ {
			params = append(params, field.Type)
		}
	}
	if len(params) != 2 {
		return false
	}
	star, ok := params[1].(*ast.StarExpr)
	return ok && isQualified(params[0], httpName, "ResponseWriter") && isQualified(star.X, httpName, "Request")
}

// isQualified reports whether e names pkg.name (or just name for a dot import).
func isQualified(e ast.Expr, pkg, name string) bool {
	switch x := e.(type) {
	case *ast.SelectorExpr:
		id, ok := x.X.(*ast.Ident)
		return ok && id.Name == pkg && x.Sel.Name == name
	case *ast.Ident:
		return pkg == "." && x.Name == name
	}
	return false
}

func isCallTo(fun ast.Expr, pkg, name string) bool {
	if pkg == "_" {
		return false
	}
	return isQualified(fun, pkg, name)
}
`;
