module example.com/wasi-adapter-netlify-example

go 1.22

// wasi-adapter build resolves this module to the copy inside the npm package, so a project does
// not need these two lines; they let `go build` and editors find the package in this repository.
// In your own project use `go get github.com/wasi-adapter/wasi-adapter/go` instead.
require github.com/wasi-adapter/wasi-adapter/go v0.0.0

replace github.com/wasi-adapter/wasi-adapter/go => ../../go
