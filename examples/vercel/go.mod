module example.com/wasi-adapter-vercel-example

go 1.21
