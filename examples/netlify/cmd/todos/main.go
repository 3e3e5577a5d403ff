// Command todos is a small JSON API served at /api/todos/* (the default route of cmd/todos).
// It calls wasiadapter.Serve instead of cgi.Serve, which opts into persistent mode: one instance
// answers many requests, so start-up cost and the in-memory store are shared between them.
package main

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/wasi-adapter/wasi-adapter/go/wasiadapter"

	"example.com/wasi-adapter-netlify-example/internal/todo"
)

func main() {
	store := todo.NewStore()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/todos", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, store.List())
	})
	mux.HandleFunc("POST /api/todos", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Title string `json:"title"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Title == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": `send {"title": "..."}`})
			return
		}
		writeJSON(w, http.StatusCreated, store.Add(in.Title))
	})
	mux.HandleFunc("GET /api/todos/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.Atoi(r.PathValue("id"))
		item, ok := store.Get(id)
		if err != nil || !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such todo"})
			return
		}
		writeJSON(w, http.StatusOK, item)
	})
	wasiadapter.Serve(mux)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
