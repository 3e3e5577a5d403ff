// Package todo is an in-memory todo list. In persistent mode one Go instance serves many
// requests, so the list lives as long as the instance (a real app would use a database).
package todo

import (
	"sort"
	"sync"
)

// Item is one todo.
type Item struct {
	ID    int    `json:"id"`
	Title string `json:"title"`
	Done  bool   `json:"done"`
}

// Store is safe for concurrent use: requests in one instance run concurrently.
type Store struct {
	mu    sync.Mutex
	next  int
	items map[int]Item
}

// NewStore returns a store with one item in it.
func NewStore() *Store {
	s := &Store{next: 1, items: map[int]Item{}}
	s.Add("Try wasi-adapter")
	return s
}

// Add stores a new item and returns it.
func (s *Store) Add(title string) Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := Item{ID: s.next, Title: title}
	s.items[it.ID] = it
	s.next++
	return it
}

// Get returns the item with the id.
func (s *Store) Get(id int) (Item, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.items[id]
	return it, ok
}

// List returns every item, by id.
func (s *Store) List() []Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Item, 0, len(s.items))
	for _, it := range s.items {
		out = append(out, it)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
