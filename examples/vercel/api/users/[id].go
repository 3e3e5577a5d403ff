// GET /api/users/<id>: the [id] segment arrives as the query parameter "id", as on Vercel.
package users

import (
	"net/http"
	"strconv"

	"example.com/wasi-adapter-vercel-example/internal/respond"
)

var names = map[int]string{1: "Ada", 2: "Grace", 3: "Ken"}

// User looks a user up by id.
func User(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.URL.Query().Get("id"))
	if err != nil {
		respond.JSON(w, http.StatusBadRequest, map[string]string{"error": "id must be a number"})
		return
	}
	name, ok := names[id]
	if !ok {
		respond.JSON(w, http.StatusNotFound, map[string]string{"error": "no such user"})
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{"id": id, "name": name})
}
