module github.com/wasi-adapter/wasi-adapter/go

go 1.21
