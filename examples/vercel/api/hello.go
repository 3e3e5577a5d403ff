// GET /api/hello?name=Gopher
package handler

import (
	"net/http"

	"example.com/wasi-adapter-vercel-example/internal/respond"
)

// Handler greets the caller. Any exported func(http.ResponseWriter, *http.Request) works.
func Handler(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	if name == "" {
		name = "world"
	}
	respond.JSON(w, http.StatusOK, map[string]string{"message": "Hello, " + name + "!"})
}
